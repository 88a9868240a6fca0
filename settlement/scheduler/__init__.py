"""The 72-hour window runs itself: sweeps over the database, led by one scheduler at a time."""

from settlement.scheduler.actions import claim_actions
from settlement.scheduler.leader import (
    AdvisoryLockLeadership,
    Leadership,
    LeaseLeadership,
    leadership_for,
)
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.runner import RunReport, Scheduler, run_due, run_scheduler_forever
from settlement.scheduler.sweeps import (
    SWEEPS,
    sweep_auto_close,
    sweep_autopay,
    sweep_escalation,
    sweep_expiry,
    sweep_outbox,
    sweep_overdue,
    sweep_reminders,
)
from settlement.scheduler.tables import ScheduledAction, SchedulerLease

__all__ = [
    "SWEEPS",
    "AdvisoryLockLeadership",
    "Leadership",
    "LeaseLeadership",
    "RunReport",
    "ScheduledAction",
    "Scheduler",
    "SchedulerLease",
    "SweepReport",
    "claim_actions",
    "leadership_for",
    "run_due",
    "run_scheduler_forever",
    "sweep_auto_close",
    "sweep_autopay",
    "sweep_escalation",
    "sweep_expiry",
    "sweep_outbox",
    "sweep_overdue",
    "sweep_reminders",
]
