"""Visits left open close themselves: facts, decide (pure), and the sweep that runs them."""

from settlement.scheduler.auto_close.decide import end_of_visit_day, last_auto_close
from settlement.scheduler.auto_close.sweep import AUTO_CLOSE, sweep_auto_close

__all__ = ["AUTO_CLOSE", "end_of_visit_day", "last_auto_close", "sweep_auto_close"]
