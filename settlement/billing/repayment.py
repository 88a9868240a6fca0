"""A patient's repayment record from their bills' rows, in pure code (no database): the rules
:mod:`settlement.billing.history` states, for callers that hold the rows already (the overdue
sweep's decide step)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from credit.decision import RepaymentHistory
from settlement.billing import bill_states

YEAR = timedelta(days=365)


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
