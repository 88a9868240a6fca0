"""Reminders before the deadline: at close and N hours before ``due_at`` (policy), once each.

The use-case shape: the bills due a reminder are taken in locked batches and the reminder
claimed (the ``scheduled_actions`` insert that makes it happen once), :mod:`.decide` says which
reminder each batch gets and which it supersedes, :mod:`.write` records and queues them.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Protocol

from sqlalchemy.orm import Session

from settlement.billing import bill_states
from settlement.billing.tables import Bill
from settlement.foundation.scheme import SchemePolicy
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.scheduler.actions import claim_actions
from settlement.scheduler.batches import BATCH_SIZE, due_bills, not_done, sweep_batches, take_batch
from settlement.scheduler.covered import awaiting_insurance
from settlement.scheduler.reminders.decide import Reminder, decide_reminder, reminder_schedule
from settlement.scheduler.reminders.write import write_reminders
from settlement.scheduler.reports import SweepReport
from settlement.usecases.notices import NoticesContext
from settlement.usecases.overdue import DueBill

REMINDERS = "reminders"


class RemindersContext(NoticesContext, Protocol):
    """What the reminder sweep uses: the scheme's reminders, transactions, and what notices use."""

    @property
    def scheme(self) -> SchemePolicy: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...


def sweep_reminders(context: RemindersContext, now: datetime) -> SweepReport:
    """Remind unpaid bills at close and N hours before the deadline (policy), once each.

    Only the latest reminder due is sent: after downtime a bill 1 h from its deadline gets the
    2-hour reminder, and the earlier ones are recorded as skipped.
    """
    report = SweepReport(REMINDERS)
    scheme = context.scheme
    schedule = reminder_schedule(
        scheme.remind_before, at_close=scheme.remind_at_close, window=scheme.window
    )
    for reminder in schedule:
        due = due_bills(
            Bill.status == bill_states.BILLED,
            Bill.due_at > now,
            Bill.due_at <= now + reminder.before,
            not_done(reminder.kind),
        )
        bills = sweep_batches(
            context.uow,
            sweep=REMINDERS,
            now=now,
            due=due,
            take=take_batch(BATCH_SIZE, by_due_at=True),
            act=partial(_remind, context, reminder, now),
        )
        if bills:
            report.ids.extend(b.bill_id for b in bills)
            report.counts[reminder.kind] = len(bills)
            report.fell_due(min(b.due_at for b in bills) - reminder.before)
    return report


def _remind(
    context: NoticesContext,
    reminder: Reminder,
    now: datetime,
    session: Session,
    batch: list[DueBill],
) -> list[DueBill]:
    ids = [bill.bill_id for bill in batch]
    claimed = claim_actions(session, bill_ids=ids, kind=reminder.kind, now=now)
    covered = awaiting_insurance(session, sorted(claimed))
    plan = decide_reminder(reminder, batch, claimed, covered)
    write_reminders(session, plan, notices=context, now=now)
    return list(plan.bills)
