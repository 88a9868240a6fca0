"""Personal-account movements left ``pending``, resolved by asking the insurance platform by key.

A movement is recorded before the platform is called and marked ``done`` when its owner (a
payment, a close, a refund, a failed payment's release) commits. One still ``pending`` after
:data:`GRACE` belongs to an owner that failed after the call or never heard its answer, and that
nobody retried (a retried payment takes it over itself: ``usecases.movements.resolve.leftovers``).
Each bill in a transaction of its own, under its lock: the platform is asked whether it made the
movement; one it made is given back (by a key derived from the movement's, so at most once), one
it did not is marked ``failed``; a platform that cannot be asked leaves it for the next tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.billing.movement_tables import AccountMovementIntent
from settlement.billing.tables import Bill
from settlement.foundation.db import skip_locked
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.usecases.movements.resolve import resolve_pending
from settlement.usecases.paying.context import PayingContext

ACCOUNT_MOVEMENTS = "account_movements"
#: How long a movement may stay pending before the sweep resolves it: its owner (or the owner's
#: retry) has had the time to end, and a request still in flight to the platform has landed.
GRACE = timedelta(minutes=10)


def candidates(session: Session, *, before: datetime) -> list[str]:
    """The bills with a movement pending since before ``before``, oldest first."""
    query = (
        select(AccountMovementIntent.bill_id)
        .where(
            AccountMovementIntent.state == "pending",
            AccountMovementIntent.created_at <= before,
        )
        .group_by(AccountMovementIntent.bill_id)
        .order_by(AccountMovementIntent.bill_id)
    )
    return list(session.scalars(query))


def sweep_account_movements(context: PayingContext, now: datetime) -> SweepReport:
    """Resolve the movements of each bill of :func:`candidates`, each in its own transaction."""
    report = SweepReport(ACCOUNT_MOVEMENTS)
    with context.uow() as uow:
        bills = candidates(uow.session, before=now - GRACE)
    for bill_id in bills:
        outcome = isolated(
            context.uow,
            sweep=ACCOUNT_MOVEMENTS,
            item_id=bill_id,
            now=now,
            work=partial(_resolve_one, context, bill_id, now),
        )
        if isinstance(outcome, Failed):
            report.counts["error"] = report.counts.get("error", 0) + 1
            continue
        for named in outcome:
            report.counts[named] = report.counts.get(named, 0) + 1
        if outcome and "wait" not in outcome:
            report.ids.append(bill_id)
    return report


def _resolve_one(context: PayingContext, bill_id: str, now: datetime, uow: UnitOfWork) -> list[str]:
    session = uow.session
    free = skip_locked(session, select(Bill.bill_id).where(Bill.bill_id == bill_id), Bill)
    if session.scalars(free).first() is None:
        return ["busy"]  # its owner (or a retry) still holds it
    platform = context.insurance_platform(session)
    resolved: list[str] = list(resolve_pending(session, platform, bill_id, now=now))
    uow.commit()
    return resolved
