"""What the pending-orders sweep does with an order, decided in pure code (no database).

A wallet order whose callback never came is asked about (the provider's ``query``, an outside
call), holding no lock. :func:`decide_answer` turns the provider's answer into what to do: apply
the outcome through the callback's own path, or leave the order pending (nothing is locked or
written then). :func:`worth_asking` says whether the order, once locked to apply the outcome,
is still the sweep's to settle (a callback or another sweep may have got there first).

- ``succeeded`` for the order's amount: confirmed; for another amount: left pending and logged
  (a callback with that amount would be refused too).
- ``failed``: failed, everything reserved goes back.
- ``pending``: left for the next tick.
- unknown to the provider: failed. The order was opened with the provider before our
  transaction committed, so an order the provider does not know was never placed and can never
  be paid; failing it gives the reservation back and makes the bill payable again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from insurance.money import to_fen

PENDING = "pending"


class ProviderAnswer(Protocol):
    """The provider's view of an order (``settlement.adapters.wallets.ProviderOrder``)."""

    @property
    def status(self) -> str: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def provider_txn_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Leave:
    """Change nothing now; ``outcome`` says why (``busy``, ``still_pending``,
    ``amount_mismatch``)."""

    outcome: str


@dataclass(frozen=True, slots=True)
class Settle:
    """Apply the provider's outcome to the order, as its callback would."""

    succeeded: bool
    provider_txn_id: str

    @property
    def outcome(self) -> str:
        return "succeeded" if self.succeeded else "failed"


Resolution = Leave | Settle
BUSY = Leave("busy")


def worth_asking(order_status: str | None) -> bool:
    """Whether the locked order (``None``: gone) is still pending, so the sweep settles it."""
    return order_status == PENDING


def decide_answer(*, order_amount_fen: int, answer: ProviderAnswer | None) -> Resolution:
    """What the provider's answer (``None``: it does not know the order) does to a pending order
    of ``order_amount_fen``."""
    if answer is None:
        return Settle(succeeded=False, provider_txn_id="")
    if answer.status == PENDING:
        return Leave("still_pending")
    succeeded = answer.status == "succeeded"
    if succeeded and to_fen(answer.amount) != order_amount_fen:
        return Leave("amount_mismatch")
    return Settle(succeeded=succeeded, provider_txn_id=answer.provider_txn_id)
