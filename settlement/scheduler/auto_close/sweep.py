"""Visits left open close themselves at the end of their local day (``closed_by="auto"``).

The use-case shape: :mod:`.facts` reads the open visits and then each under its lock,
:mod:`.decide` says which close and when (pure), and ``close_visit``
(``settlement.usecases.paying.closing``, the one way a visit closes) writes each close, settling
a bill the insurance accounts cover entirely at once.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Protocol

from settlement.foundation.config import Settings
from settlement.foundation.scheme import SchemePolicy
from settlement.foundation.unit_of_work import UnitOfWork, UnitOfWorkFactory
from settlement.scheduler.auto_close.decide import (
    Closing,
    decide_auto_close,
    last_auto_close,
)
from settlement.scheduler.auto_close.facts import open_visits, still_open
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.usecases.charging.visits import CloseResult
from settlement.usecases.paying.closing import close_visit
from settlement.usecases.paying.context import PayingContext

AUTO_CLOSE = "auto_close"


class AutoCloseContext(PayingContext, Protocol):
    """What the auto-close sweep uses: the zone and the policy's closing time, transactions,
    and what closing a visit uses (paying's: a covered bill settles when it is made)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def scheme(self) -> SchemePolicy: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...


def sweep_auto_close(context: AutoCloseContext, now: datetime) -> SweepReport:
    """Close visits left open past the end of their local day (``closed_by="auto"``).

    Each is stamped with the end of its day (``end_of_visit_day``), not the sweep's time, so
    its bill is due 72 h after that; ``close_visit`` still gives a patient the policy's minimum
    notice when the sweep comes so late that the deadline has passed. Each visit is closed in a
    transaction of its own: one that cannot be closed (a refusal, a policy that does not cover
    its day, any error) is recorded in ``sweep_failures`` and the others are still closed.
    """
    report = SweepReport(AUTO_CLOSE)
    with context.uow() as uow:
        candidates = open_visits(uow.session, opened_before=last_auto_close(context, now))
    for closing in decide_auto_close(candidates, day=context, now=now):
        mdtrt_id = closing.visit.mdtrt_id
        close = partial(_close_one, context, closing)
        closed = isolated(context.uow, sweep=AUTO_CLOSE, item_id=mdtrt_id, now=now, work=close)
        if closed is None or isinstance(closed, Failed):
            continue
        report.ids.append(mdtrt_id)
        report.fell_due(closing.closed_at)
        report.counts["bills"] = report.counts.get("bills", 0) + int(closed.bill is not None)
    return report


def _close_one(context: AutoCloseContext, closing: Closing, uow: UnitOfWork) -> CloseResult | None:
    """Close one visit if it is still open and nobody else holds it; ``None`` if not."""
    hospital = still_open(uow.session, closing.visit)
    if hospital is None:
        return None
    result = close_visit(
        uow,
        container=context,
        hospital=hospital,
        mdtrt_id=closing.visit.mdtrt_id,
        closed_by="auto",
        closed_at=closing.closed_at,
    )
    uow.commit()
    return result
