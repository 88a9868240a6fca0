"""A refund's answer (shared by both kinds of refund)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from settlement.billing.tables import Bill
from settlement.usecases.refunding.decide import Returned


@dataclass(frozen=True)
class RefundResult:
    bill: Bill
    refunded: tuple[str, ...]
    refunded_amount: Decimal
    setlinfo: dict[str, str]
    setl_id: str | None
    returned: Returned
    wallet_refund_id: str | None = None
