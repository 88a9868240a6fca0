"""A refund after settlement (2208 on a ``settled`` / ``settled_late`` bill): the settlement is
reversed and the remaining lines settled again from the same sources (see
``settlement.usecases.refunding.refunds`` for why), in one linked ledger batch.

The shape of every use case: ``facts.settled_facts`` reads (and locks) what the re-settlement
needs, ``decide.decide_after`` plans it in pure code or refuses, ``write.write_after`` writes
the plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from insurance.money import from_fen
from settlement.billing.tables import Bill, FeeLine
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.refunding.decide import decide_after
from settlement.usecases.refunding.facts import RefundFacts, refunded_lines, settled_facts
from settlement.usecases.refunding.result import RefundResult
from settlement.usecases.refunding.write import write_after


def after_settlement(
    session: Session,
    container: PayingContext,
    bill: Bill,
    facts: RefundFacts,
    chosen: Sequence[FeeLine],
    reason: str,
    now: datetime,
) -> RefundResult:
    """Reverse the bill's settlement and settle the remaining lines again, in one transaction."""
    record, settled = settled_facts(session, container, bill, facts, chosen, now)
    plan = decide_after(
        bill,
        record,
        settled,
        chosen=refunded_lines(chosen),
        new_setl_id=new_id("ST", now),
        reason=reason,
    )
    if isinstance(plan, ServiceError):
        raise plan
    wallet_refund_id = write_after(session, container, bill, record, plan, chosen, now)
    return RefundResult(
        bill=bill,
        refunded=plan.refunded,
        refunded_amount=from_fen(plan.amount_fen),
        setlinfo=plan.new.setlinfo.as_dict(),
        setl_id=plan.setl_id,
        returned=plan.returned,
        wallet_refund_id=wallet_refund_id,
    )
