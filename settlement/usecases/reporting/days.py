"""Days of a report: a run of local calendar days, and the SQL that puts an instant in its day.

Figures are grouped by the local day an instant falls on (``Asia/Shanghai`` unless configured).
PostgreSQL does that itself (``timezone(zone, at)::date``); SQLite has no time zones, so the
expression there calls a function registered on the connection, which asks ``zoneinfo`` and so
is exact across any offset change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

#: The name of the SQLite function that turns a stored UTC instant into its local day.
SQLITE_LOCAL_DAY = "shuxin_local_day"
#: The longest run of days one report covers (a quarter and a little more).
MAX_DAYS = 366


@dataclass(frozen=True)
class DayRange:
    """The local days ``first`` … ``last`` (both included) in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"{self.last} is before {self.first}")

    @classmethod
    def ending(cls, last: date, *, days: int, zone: ZoneInfo) -> DayRange:
        """The ``days`` days that end with ``last``."""
        return cls(last - timedelta(days=days - 1), last, zone)

    @property
    def start(self) -> datetime:
        """The UTC instant the first day starts."""
        return day_start(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The UTC instant the last day ends (exclusive)."""
        return day_start(self.last + timedelta(days=1), self.zone)

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    def __len__(self) -> int:
        return (self.last - self.first).days + 1


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant local midnight of ``day`` is."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_day(session: Session, column: Any, zone: ZoneInfo) -> ColumnElement[Any]:
    """SQL for the local day of the stored instant ``column`` (a date; text on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(zone.key, column), Date)
    _register_sqlite_function(session)
    return func.shuxin_local_day(column, zone.key)


def as_date(value: object) -> date | None:
    """A day as the database returned it (a ``date``, or ISO text on SQLite)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _register_sqlite_function(session: Session) -> None:
    # Registering again replaces the same function: a C call, cheaper than tracking connections.
    driver = session.connection().connection.driver_connection
    if driver is not None:
        driver.create_function(SQLITE_LOCAL_DAY, 2, _sqlite_local_day, deterministic=True)


def _sqlite_local_day(stored: str | None, zone: str) -> str | None:
    # SQLite keeps UTCDateTime as naive UTC text ("2026-11-23 01:30:00.000000").
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()
