"""A refund's answer, and the lines it marks refunded (shared by both kinds of refund)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from settlement.billing.tables import Bill, FeeLine
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


def refund_charges(bill: Bill, chosen: Sequence[FeeLine], now: datetime) -> int:
    """Mark the chosen lines refunded and take them off the bill; returns their total in fen."""
    for line in chosen:
        line.status = "refunded"
        line.changed_at = now
    bill.medfee_sumamt_fen -= sum(line.det_item_fee_sumamt_fen for line in chosen)
    return sum(line.det_item_fee_sumamt_fen for line in chosen)
