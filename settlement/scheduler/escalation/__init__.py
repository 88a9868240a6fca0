"""Escalation to the credit platform: facts, decide (pure), write, and the sweep that runs them,
intent first."""

from settlement.scheduler.escalation.facts import ESCALATE
from settlement.scheduler.escalation.sweep import EscalationContext, sweep_escalation

__all__ = ["ESCALATE", "EscalationContext", "sweep_escalation"]
