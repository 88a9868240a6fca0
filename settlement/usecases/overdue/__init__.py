"""Overdue bills: facts, decide (pure), write, in the caller's transaction (their escalation to
the credit platform: ``settlement.scheduler.escalation``)."""

from settlement.usecases.overdue.decide import DueBill, deadline_when_set_aside, due_now
from settlement.usecases.overdue.facts import DUE_BILL_COLUMNS, due_bill
from settlement.usecases.overdue.service import (
    Notify,
    freeze_lines,
    mark_overdue,
)

__all__ = [
    "DUE_BILL_COLUMNS",
    "DueBill",
    "Notify",
    "deadline_when_set_aside",
    "due_bill",
    "due_now",
    "freeze_lines",
    "mark_overdue",
]
