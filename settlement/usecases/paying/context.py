"""What paying (and refunding, which reverses it) needs of the process.

The use cases take these collaborators, not the composition root: the process's ``Container``
satisfies the Protocol, and a test can hand in anything that does.
"""

from __future__ import annotations

from typing import Protocol

from settlement.adapters.wallets import WalletFactory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.usecases.charging.service import ChargingContext
from settlement.usecases.family.links import LinksContext
from settlement.usecases.notices import NoticesContext


class PayingContext(ChargingContext, LinksContext, NoticesContext, Protocol):
    """Charging's, the family's and the notices' collaborators, with the wallets and
    transactions of its own (a callback, a pending order's resolution)."""

    @property
    def uow(self) -> UnitOfWorkFactory: ...

    @property
    def wallets(self) -> WalletFactory: ...
