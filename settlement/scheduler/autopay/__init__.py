"""Auto-pay (无感支付): facts, decide (pure), write, and the sweep that runs them."""

from settlement.scheduler.autopay.facts import AUTOPAY
from settlement.scheduler.autopay.sweep import sweep_autopay

__all__ = ["AUTOPAY", "sweep_autopay"]
