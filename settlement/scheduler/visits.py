"""Visits left open close themselves at the end of their local day (``closed_by="auto"``)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from settlement.access.hospitals import get_hospital
from settlement.billing.tables import Visit
from settlement.foundation.db import skip_locked
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.context import SchedulerContext
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.usecases.charging.visits import CloseResult, close_visit

AUTO_CLOSE = "auto_close"


class _Zone(Protocol):
    @property
    def timezone(self) -> str: ...


class _DayEnd(Protocol):
    @property
    def auto_close_at(self) -> time: ...


class VisitDay(Protocol):
    """What the end of a visit's day depends on: the zone and the policy's closing time."""

    @property
    def settings(self) -> _Zone: ...

    @property
    def scheme(self) -> _DayEnd: ...


def last_auto_close(day: VisitDay, now: datetime) -> datetime:
    """The most recent local ``auto_close_at`` at or before ``now``."""
    zone = ZoneInfo(day.settings.timezone)
    local = now.astimezone(zone)
    at = day.scheme.auto_close_at
    moment = datetime.combine(local.date(), at, tzinfo=zone)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return moment


def end_of_visit_day(day: VisitDay, opened_at: datetime) -> datetime:
    """When a visit opened at ``opened_at`` closed itself: the first local ``auto_close_at``
    after it, 23:59:00 of the day it was opened with the shipped policy (``seeds/scheme.toml``
    ``[visits]``, in ``settings.timezone``).

    The end of the day is the moment the policy names, not 23:59:59 and not the next midnight:
    it is when a sweep on time closes the visit, so a sweep that runs late (after downtime, a
    clock jump) stamps exactly what a timely one would have, and ``due_at`` does not depend on
    when the scheduler happened to run. The next midnight would be the next day's: the visit
    would read as closed the day after it took place and count among that day's bills closed.
    23:59:59 is a moment the policy never names, and later than a timely close.

    The day is the one the visit was opened with us (``opened_at``, from the service's clock),
    the same moment that makes the sweep pick the visit (``opened_at`` before the last
    ``auto_close_at``): so the end of its day is after it opened and never after now. The HIS's
    ``begntime`` is its own statement and may be backdated or ahead.
    """
    last = last_auto_close(day, opened_at)  # the one at or before it: the next is a day on
    following = last.date() + timedelta(days=1)
    return datetime.combine(following, day.scheme.auto_close_at, tzinfo=last.tzinfo).astimezone(UTC)


def sweep_auto_close(container: SchedulerContext, now: datetime) -> SweepReport:
    """Close visits left open past the end of their local day (``closed_by="auto"``).

    Each is stamped with the end of its day (:func:`end_of_visit_day`), not the sweep's time, so
    its bill is due 72 h after that; ``close_visit`` still gives a patient the policy's minimum
    notice when the sweep comes so late that the deadline has passed. Each visit is closed in a
    transaction of its own: one that cannot be closed (a refusal, a policy that does not cover
    its day, any error) is recorded in ``sweep_failures`` and the others are still closed.
    """
    report = SweepReport(AUTO_CLOSE)
    cutoff = last_auto_close(container, now)
    with container.uow() as uow:
        candidates = list(
            uow.session.execute(
                select(Visit.mdtrt_id, Visit.hospital_code, Visit.opened_at)
                .where(Visit.status == "open", Visit.opened_at < cutoff)
                .order_by(Visit.opened_at)
            )
        )
    for mdtrt_id, hospital_code, opened_at in candidates:
        end_of_day = end_of_visit_day(container, opened_at)
        close = partial(_close_one, container, mdtrt_id, hospital_code, end_of_day)
        closed = isolated(container.uow, sweep=AUTO_CLOSE, item_id=mdtrt_id, now=now, work=close)
        if closed is None or isinstance(closed, Failed):
            continue
        report.ids.append(mdtrt_id)
        report.fell_due(end_of_day)
        report.counts["bills"] = report.counts.get("bills", 0) + int(closed.bill is not None)
    return report


def _close_one(
    container: SchedulerContext,
    mdtrt_id: str,
    hospital_code: str,
    closed_at: datetime,
    uow: UnitOfWork,
) -> CloseResult | None:
    """Close one visit if it is still open and nobody else holds it; ``None`` if not."""
    session = uow.session
    query = skip_locked(
        session,
        select(Visit.mdtrt_id).where(Visit.mdtrt_id == mdtrt_id, Visit.status == "open"),
        Visit,
    )
    hospital = get_hospital(session, hospital_code)
    if session.scalars(query).first() is None or hospital is None:
        return None
    result = close_visit(
        uow,
        container=container,
        hospital=hospital,
        mdtrt_id=mdtrt_id,
        closed_by="auto",
        closed_at=closed_at,
    )
    uow.commit()
    return result
