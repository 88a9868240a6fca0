"""The sweep over wallet orders left pending without a callback (see
:mod:`settlement.usecases.paying.pending`)."""

from __future__ import annotations

from datetime import datetime

from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.pending import resolve_order, stale_order_ids

WALLET_ORDERS = "wallet_orders"


def sweep_pending_orders(container: PayingContext, now: datetime) -> SweepReport:
    """Query the provider about wallet orders pending too long; confirm or fail them.

    Each order in its own transaction (``resolve_order`` opens it): one that raises is recorded
    in ``sweep_failures`` and the others are still resolved.
    """
    report = SweepReport(WALLET_ORDERS)
    for order_id in stale_order_ids(container, now):

        def resolve(_: UnitOfWork, order_id: str = order_id) -> str:
            return resolve_order(container, order_id, now)

        resolved = isolated(
            container.uow, sweep=WALLET_ORDERS, item_id=order_id, now=now, work=resolve
        )
        outcome = "error" if isinstance(resolved, Failed) else resolved
        report.counts[outcome] = report.counts.get(outcome, 0) + 1
        if outcome in ("succeeded", "failed"):
            report.ids.append(order_id)
    return report
