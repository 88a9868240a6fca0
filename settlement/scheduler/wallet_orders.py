"""The sweep over wallet orders left pending without a callback (see
:mod:`settlement.usecases.paying.pending`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from settlement.scheduler.reports import SweepReport
from settlement.usecases.paying.pending import resolve_order, stale_order_ids

if TYPE_CHECKING:
    from settlement.bootstrap import Container


def sweep_pending_orders(container: Container, now: datetime) -> SweepReport:
    """Query the provider about wallet orders pending too long; confirm or fail them."""
    report = SweepReport("wallet_orders")
    for order_id in stale_order_ids(container, now):
        outcome = resolve_order(container, order_id, now)
        report.counts[outcome] = report.counts.get(outcome, 0) + 1
        if outcome in ("succeeded", "failed"):
            report.ids.append(order_id)
    return report
