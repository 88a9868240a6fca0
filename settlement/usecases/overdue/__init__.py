"""Overdue bills and their escalation: facts, decide (pure), write, in the caller's transaction."""

from settlement.usecases.overdue.decide import DueBill
from settlement.usecases.overdue.facts import DUE_BILL_COLUMNS, due_bill
from settlement.usecases.overdue.service import (
    Notify,
    escalate_overdue,
    freeze_lines,
    mark_overdue,
)

__all__ = [
    "DUE_BILL_COLUMNS",
    "DueBill",
    "Notify",
    "due_bill",
    "escalate_overdue",
    "freeze_lines",
    "mark_overdue",
]
