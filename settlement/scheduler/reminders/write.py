"""Carrying out a reminder plan in the batch's transaction: the superseded reminders recorded as
skipped and the notices queued (the reminder itself was claimed before deciding)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from settlement.scheduler.actions import claim_actions
from settlement.scheduler.reminders.decide import REMIND_COVERED, ReminderPlan
from settlement.scheduler.tables import SKIPPED
from settlement.usecases.notices import NoticesContext, notify_bills
from settlement.usecases.overdue import DueBill


def write_reminders(
    session: Session, plan: ReminderPlan[DueBill], *, notices: NoticesContext, now: datetime
) -> int:
    """Skip the superseded reminders of the plan's bills and queue its notices; returns the
    notices queued."""
    ids = [bill.bill_id for bill in plan.bills]
    for earlier in plan.skipped:
        claim_actions(session, bill_ids=ids, kind=earlier, now=now, outcome=SKIPPED)
    reminder = plan.reminder
    queued = notify_bills(
        session,
        container=notices,
        bills=plan.owing,
        kind=reminder.kind,
        template=reminder.template,
        now=now,
        **reminder.values,
    )
    if plan.covered:
        queued += notify_bills(
            session,
            container=notices,
            bills=plan.covered,
            kind=reminder.kind,
            template=REMIND_COVERED,
            now=now,
        )
    return queued
