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

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.decision import RepaymentHistory
from settlement.billing.repayment import YEAR, BillRecord, history_of
from settlement.billing.tables import Bill
from settlement.foundation.db import among

__all__ = ["YEAR", "BillRecord", "history_of", "repayment_histories", "repayment_history"]


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
