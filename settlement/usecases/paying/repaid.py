"""A repaid bill's credit event: the patient's decision moved (on time, or after overdue), the
ledger's line synced to it, and the patient and their managers told when the line moved."""

from __future__ import annotations

from sqlalchemy.orm import Session

from credit.events import BillRepaidOnTime, CreditEvent, OverdueBillRepaid
from settlement.billing.credit_line import sync_line
from settlement.billing.tables import Bill
from settlement.foundation.clock import Clock
from settlement.foundation.config import Settings
from settlement.foundation.ports import InsurancePlatform
from settlement.foundation.writes import Write
from settlement.usecases import notices
from settlement.usecases.credit.decisions import CreditConfig, decide_repayment_event


def record_repayment(
    session: Session,
    bill: Bill,
    *,
    clock: Clock,
    credit_config: CreditConfig,
    settings: Settings,
    people: InsurancePlatform,
    writes: list[Write],
    locked: bool = False,
) -> list[str] | None:
    """The credit event of a repaid bill, then the ledger's line moved to the new decision (and
    the patient told when the line moved). The new decision and the notice are added to
    ``writes`` for the caller to send; ``locked``: the caller holds the patient's credit lock.
    Returns the patient's family managers, read with the decision (``None``: not read, there
    was no decision)."""
    event: CreditEvent = (
        BillRepaidOnTime(bill.bill_id)
        if bill.overdue_at is None
        else OverdueBillRepaid(bill.bill_id)
    )
    moved = decide_repayment_event(
        session,
        config=credit_config,
        clock=clock,
        psn_no=bill.psn_no,
        event=event,  # the history from the patient's bills, read with their decision
        writes=writes,
        locked=locked,
    )
    if moved is None:
        return None
    sync_line(
        session,
        psn_no=bill.psn_no,
        line=moved.after.line,
        clock=clock,
        granted_fen=moved.granted_fen,
    )
    notices.credit_moved(
        session,
        settings=settings,
        people=people,
        psn_no=bill.psn_no,
        before=moved.before,
        after=moved.after,
        now=clock.now(),
        managers=moved.managers,
        into=writes,
    )
    return moved.managers
