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

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.decision import RepaymentHistory
from settlement.billing import bill_states
from settlement.billing.tables import Bill
from settlement.foundation.db import among

YEAR = timedelta(days=365)


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


#: A bill as the history reads it: status, due_at, settled_at, overdue_at.
BillRecord = tuple[str, datetime, datetime | None, datetime | None]


def history_of(bills: Sequence[BillRecord], now: datetime) -> RepaymentHistory:
    """The rules of the module docstring over one patient's bills."""
    on_time: list[datetime] = []
    late = max_days_late = overdue_unpaid = overdue_12m = 0
    last_overdue: datetime | None = None
    for status, due_at, settled_at, overdue_at in bills:
        if overdue_at is not None:
            last_overdue = overdue_at if last_overdue is None else max(last_overdue, overdue_at)
            if overdue_at > now - YEAR:
                overdue_12m += 1
        if status in bill_states.OVERDUE_UNPAID:
            overdue_unpaid += 1
        if settled_at is None:
            continue
        if overdue_at is None:
            on_time.append(settled_at)
        else:
            late += 1
            max_days_late = max(max_days_late, (settled_at - due_at).days, 0)
    streak = sum(1 for moment in on_time if last_overdue is None or moment > last_overdue)
    return RepaymentHistory(
        bills_on_time=len(on_time),
        bills_late=late,
        max_days_late=max_days_late,
        overdue_unpaid=overdue_unpaid,
        overdue_count_12m=overdue_12m,
        on_time_streak=streak,
    )
