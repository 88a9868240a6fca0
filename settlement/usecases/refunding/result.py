"""A refund's answer, and the lines it marks refunded (shared by both kinds of refund)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

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


def refund_charges(session: Session, bill: Bill, chosen: Sequence[FeeLine], now: datetime) -> int:
    """Mark the chosen lines refunded (one UPDATE, however many) and take them off the bill;
    returns their total in fen."""
    if chosen:
        # ORM-enabled: the loaded lines take the new values too, as the caller reads them next.
        session.execute(
            update(FeeLine)
            .where(FeeLine.id.in_([line.id for line in chosen]))
            .values(status="refunded", changed_at=now)
            .execution_options(synchronize_session="evaluate")
        )
    refunded = sum(line.det_item_fee_sumamt_fen for line in chosen)
    bill.medfee_sumamt_fen -= refunded
    return refunded
