"""Bills the insurance accounts cover whose settlement at close failed, tried again.

A bill the pooled fund and the personal account cover entirely settles when it is made
(``settlement.usecases.paying.closing``). When the insurance platform failed then, the bill was
kept ``billed`` (payable: the patient's own payment of ¥0.00 settles it) with an
``insurance_settle_failed`` event. This sweep, in every tick before auto-pay, reminders and
overdue, settles such a bill the same way, once: ``done`` when it settled, ``skipped`` when the
wallet now has a part (a balance moved: the bill then waits for the patient like any other). A
platform still failing is recorded in ``sweep_failures`` and tried again in the next tick.

The deadline of such a bill: the overdue sweep leaves it alone while it waits, past its
``due_at`` or not (it reads :func:`awaiting_settlement` in the statement that takes its batch),
since the patient owes ¥0.00 from the wallet and the failure is the platform's. Settled, it is
never overdue. Set aside, it waits for the patient with its own ``due_at``, but never less than
the policy's ``min_notice`` (24 h) from the moment it was set aside, the first moment the patient
owes something (``settlement.usecases.overdue.deadline_when_set_aside``): when that moves the
deadline, the bill's history says so (``due_moved``) and the patient and their managers are told
the amount and the new deadline (``remind_before``), so no bill goes overdue in the tick that
first asks its patient to pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import case, exists, false, select
from sqlalchemy.orm import Session

from settlement.billing import bill_states
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.db import among, skip_locked
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.actions import claim_actions
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.tables import SKIPPED, ScheduledAction
from settlement.usecases.notices import notify_bills
from settlement.usecases.overdue import DueBill, deadline_when_set_aside
from settlement.usecases.paying import write
from settlement.usecases.paying.closing import SETTLE_FAILED, settle_if_covered
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.facts import lock_bill

SETTLE_COVERED = "settle_covered"
#: The history row (and the notice's kind) when setting a bill aside moved its deadline.
DUE_MOVED = "due_moved"


def retry_candidates(session: Session) -> list[str]:
    """Billed bills whose settlement from the insurance accounts failed at close and that this
    sweep has not settled or set aside yet, oldest deadline first."""
    failed = select(BillEvent.bill_id).where(BillEvent.kind == SETTLE_FAILED)
    handled = exists().where(
        ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == SETTLE_COVERED
    )
    query = select(Bill.bill_id).where(
        Bill.bill_id.in_(failed), Bill.status == bill_states.BILLED, ~handled
    )
    return list(session.scalars(query.order_by(Bill.due_at, Bill.bill_id)))


def awaiting_settlement() -> Any:
    """A column of a query over ``bills``: the bill's settlement from the insurance accounts
    failed at close and this sweep has neither settled it nor set it aside. The failed bills
    are read once per statement (a hashed subplan over ``ix_bill_events_kind_created_at``, a
    handful of rows); only for those is the ``scheduled_actions`` pair probed."""
    failed = Bill.bill_id.in_(select(BillEvent.bill_id).where(BillEvent.kind == SETTLE_FAILED))
    handled = exists().where(
        ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == SETTLE_COVERED
    )
    return case((failed, ~handled), else_=false())


def awaiting_insurance(session: Session, bill_ids: Sequence[str]) -> set[str]:
    """Those of ``bill_ids`` the insurance accounts cover whose settlement is still being
    retried: its settlement at close failed and this sweep has neither settled it nor set it
    aside (the wallet has a part), in one statement. The sweep runs earlier in every tick, so a
    bill still waiting here failed again in this tick: the patient owes ¥0.00 from the wallet."""
    if not bill_ids:
        return set()
    failed = exists().where(BillEvent.bill_id == Bill.bill_id, BillEvent.kind == SETTLE_FAILED)
    handled = exists().where(
        ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == SETTLE_COVERED
    )
    query = select(Bill.bill_id).where(
        among(session, Bill.bill_id, bill_ids), Bill.status == bill_states.BILLED, failed, ~handled
    )
    return set(session.scalars(query))


def sweep_settle_covered(context: PayingContext, now: datetime) -> SweepReport:
    """Try again to settle each bill of :func:`retry_candidates`, each in its own transaction."""
    report = SweepReport(SETTLE_COVERED)
    with context.uow() as uow:
        candidates = retry_candidates(uow.session)
    for bill_id in candidates:
        outcome = isolated(
            context.uow,
            sweep=SETTLE_COVERED,
            item_id=bill_id,
            now=now,
            work=partial(_retry_one, context, bill_id, now),
        )
        named = "error" if isinstance(outcome, Failed) else outcome
        report.counts[named] = report.counts.get(named, 0) + 1
        if named == "settled":
            report.ids.append(bill_id)
    return report


def _retry_one(context: PayingContext, bill_id: str, now: datetime, uow: UnitOfWork) -> str:
    session = uow.session
    free = skip_locked(session, select(Bill.status).where(Bill.bill_id == bill_id), Bill)
    if session.scalars(free).first() != bill_states.BILLED:
        return "busy"  # paid meanwhile, or a payment holds it
    bill = lock_bill(session, bill_id)
    assert bill is not None
    outcome = settle_if_covered(session, context, bill)  # a failure raises: recorded, retried
    if outcome == "settled":
        claim_actions(session, bill_ids=[bill_id], kind=SETTLE_COVERED, now=now)
    else:
        claim_actions(
            session,
            bill_ids=[bill_id],
            kind=SETTLE_COVERED,
            now=now,
            outcome=SKIPPED,
            detail="the wallet has a part now",
        )
        _give_notice(context, session, bill, now)
    uow.commit()
    return outcome


def _give_notice(context: PayingContext, session: Session, bill: Bill, now: datetime) -> None:
    """A bill set aside is due no sooner than ``min_notice`` from now: its deadline moved, its
    history says so and its patient (and managers) are told what is due by when."""
    notice = context.scheme.min_notice
    due_at = deadline_when_set_aside(bill.due_at, now=now, min_notice=notice)
    if due_at == bill.due_at:
        return
    detail = {"from": bill.due_at.isoformat(), "to": due_at.isoformat()}
    write.change_status(session, bill, bill.status, kind=DUE_MOVED, now=now, detail=detail)
    bill.due_at = due_at
    session.flush()
    owed = DueBill(
        bill.bill_id,
        bill.psn_no,
        bill.hospital_code,
        bill.status,
        bill.owed_fen,
        bill.closed_at,
        due_at,
        None,
    )
    hours = int(notice.total_seconds()) // 3600
    notify_bills(
        session,
        container=context,
        bills=[owed],
        kind=DUE_MOVED,
        template="remind_before",
        now=now,
        hours=hours,
    )
