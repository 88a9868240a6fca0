"""Which open visits close themselves, and when they closed, decided in pure code (no database).

A visit left open closes itself at the end of its local day: :func:`last_auto_close` is the
sweep's cutoff, :func:`end_of_visit_day` the moment a visit is stamped closed, and
:func:`decide_auto_close` the visits a sweep at ``now`` closes, oldest first, each with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


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


@dataclass(frozen=True, slots=True)
class OpenVisit:
    mdtrt_id: str
    hospital_code: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Closing:
    """A visit to close, stamped closed at the end of its day."""

    visit: OpenVisit
    closed_at: datetime


def decide_auto_close(
    visits: Sequence[OpenVisit], *, day: VisitDay, now: datetime
) -> list[Closing]:
    """The visits opened before the last ``auto_close_at`` at or before ``now``, oldest first,
    each with the end of its own day (never after ``now``)."""
    cutoff = last_auto_close(day, now)
    due = sorted((v for v in visits if v.opened_at < cutoff), key=lambda v: v.opened_at)
    return [Closing(visit, end_of_visit_day(day, visit.opened_at)) for visit in due]
