"""Reminders before the deadline: decide (pure), write, and the sweep that runs them."""

from settlement.scheduler.reminders.sweep import REMINDERS, sweep_reminders

__all__ = ["REMINDERS", "sweep_reminders"]
