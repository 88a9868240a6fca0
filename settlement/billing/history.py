"""A patient's repayment record (``RepaymentHistory``) computed from their bills.

The credit rules read it when an event is recorded; it is derived, never stored, so it cannot
drift from the bills:

- a bill counts once it has something to pay (``billed_fen > 0``);
- *on time*: settled and never overdue; *late*: settled after going overdue (days late counted
  in whole days after ``due_at``);
- *overdue unpaid*: overdue now (``overdue`` or ``paying_late``);
- the on-time streak counts on-time settlements after the latest moment a bill went overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from credit.decision import RepaymentHistory
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.billing.repayment import YEAR, BillRecord, history_of
from settlement.billing.tables import Bill
from settlement.foundation.db import among

__all__ = [
    "YEAR",
    "BillRecord",
    "history_of",
    "latest_decision_and_history",
    "repayment_histories",
    "repayment_history",
]


def repayment_history(session: Session, *, psn_no: str, now: datetime) -> RepaymentHistory:
    """This scheme's record of ``psn_no``'s bills as of ``now`` (see the module docstring)."""
    return repayment_histories(session, [psn_no], now=now)[psn_no]


def repayment_histories(
    session: Session, psn_nos: Iterable[str], *, now: datetime
) -> dict[str, RepaymentHistory]:
    """:func:`repayment_history` for many patients in one query (the overdue sweep's batches)."""
    wanted = sorted(set(psn_nos))
    rows: dict[str, list[BillRecord]] = {psn_no: [] for psn_no in wanted}
    for psn_no, status, due_at, settled_at, overdue_at in session.execute(
        select(Bill.psn_no, Bill.status, Bill.due_at, Bill.settled_at, Bill.overdue_at).where(
            among(session, Bill.psn_no, wanted), Bill.billed_fen > 0
        )
    ):
        rows[psn_no].append((status, due_at, settled_at, overdue_at))
    return {psn_no: history_of(bills, now) for psn_no, bills in rows.items()}


def latest_decision_and_history(
    session: Session, *, psn_no: str, now: datetime
) -> tuple[CreditDecisionRow, RepaymentHistory] | None:
    """``psn_no``'s latest credit decision and :func:`repayment_history`, in one statement (the
    decision joined to each of their bills: its columns repeat, a patient has a few bills);
    ``None`` if there never was a decision."""
    latest = (
        select(CreditDecisionRow.id)
        .where(CreditDecisionRow.psn_no == psn_no)
        .order_by(CreditDecisionRow.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(CreditDecisionRow, Bill.status, Bill.due_at, Bill.settled_at, Bill.overdue_at)
        .outerjoin(Bill, and_(Bill.psn_no == CreditDecisionRow.psn_no, Bill.billed_fen > 0))
        .where(CreditDecisionRow.id == latest)
    )
    rows = session.execute(query).all()
    if not rows:
        return None
    bills: list[BillRecord] = [
        (status, due_at, settled_at, overdue_at)
        for _, status, due_at, settled_at, overdue_at in rows
        if status is not None  # the decision's row with no bill joined
    ]
    return rows[0][0], history_of(bills, now)
