"""A manager's standing as the family shapes it: frozen while a relative's shared bill is overdue.

Policy (``[family] freeze_shared_on_overdue``, documented in the README): when a relative's bill
that drew on a manager's line goes overdue, the manager's standing is treated as ``frozen`` for
new visits and charges, and the credit summary shows it so, until that bill is paid. The manager's
own credit decision is not changed: paying the relative's bill lifts the freeze at once.

This module imports only tables, so ``settlement.billing.credit_line`` can import it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, SQLColumnExpression, bindparam, exists, select
from sqlalchemy.orm import Session

from settlement.billing import bill_states
from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import Bill

#: A bill in these states is overdue and unpaid.


def overdue_shared_bills(session: Session, manager_psn_no: str) -> list[str]:
    """The ids of overdue, unpaid bills of relatives that drew on ``manager_psn_no``'s line."""
    return list(session.scalars(_OVERDUE_SHARED, {"manager": manager_psn_no}))


def frozen_by_family(session: Session, manager_psn_no: str) -> bool:
    """Whether a relative's overdue shared bill freezes ``manager_psn_no`` now."""
    return bool(session.scalar(_ANY_OVERDUE_SHARED, {"manager": manager_psn_no}))


def overdue_shared_exists(manager_psn_no: ColumnElement[str] | SQLColumnExpression[str]) -> Exists:
    """``EXISTS`` an overdue, unpaid bill of a relative that drew on ``manager_psn_no``'s line,
    for a statement that reads it along with other things (a charge reads it with its visit)."""
    return exists().where(*_overdue_shared_where(manager_psn_no))


def _overdue_shared_where(
    manager_psn_no: ColumnElement[str] | SQLColumnExpression[str],
) -> tuple[ColumnElement[bool], ...]:
    # Correlated with the statement that names the manager (a charge's visits), through the
    # EXISTS around it: left to itself the subquery read every visit's patient, so one overdue
    # shared bill anywhere marked every visit frozen and sent each batch to the single path.
    drew = (
        select(SharedHold.mdtrt_id)
        .where(SharedHold.manager_psn_no == manager_psn_no)
        .correlate_except(SharedHold)
    )
    return Bill.status.in_(bill_states.OVERDUE_UNPAID), Bill.mdtrt_id.in_(drew)


# Built once: every visit and charge checks the family's standing.
_OVERDUE_SHARED_WHERE = _overdue_shared_where(bindparam("manager"))
_OVERDUE_SHARED = select(Bill.bill_id).where(*_OVERDUE_SHARED_WHERE).order_by(Bill.bill_id)
_ANY_OVERDUE_SHARED = select(exists().where(*_OVERDUE_SHARED_WHERE))
