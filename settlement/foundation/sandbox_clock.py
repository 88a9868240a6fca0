"""The sandbox's test clock, kept in the database (Stripe's test clocks are the model).

``POST /sandbox/v1/clock/advance`` moves business time: deadlines, sweeps, visit days,
reminders, policy years. The offset it adds to the wall clock is one row of ``sandbox_clock``,
so every API process and the scheduler read the same time and a restart keeps it. Authentication
(signature timestamps, nonces, login codes, tokens, rate limits) and the scheduler's leadership
use the wall clock (``Container.real_clock``), which the test clock never moves: an integrator
who moves time keeps signing with their own clock.

Reading the row on every ``now()`` would add a round trip to each use; the offset is read at
most every ``refresh_seconds`` (1 s) instead. The process that moves the clock sees the new time
at once; another process within that second.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import BigInteger, Engine, Integer, Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.clock import Clock, Seconds, SystemClock
from settlement.foundation.db import READS_ONLY
from settlement.foundation.orm import Base, UTCDateTime

#: The one row's key.
CLOCK_ID = 1
REFRESH_SECONDS = 1.0


class SandboxClockRow(Base):
    """How far the sandbox's business time is ahead of the wall clock."""

    __tablename__ = "sandbox_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    offset_us: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    #: When it was last moved (wall time).
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime)


TABLE = cast(Table, SandboxClockRow.__table__)


class DatabaseClock:
    """Wall time plus the offset stored in ``sandbox_clock``; moves only forward."""

    def __init__(
        self,
        engine: Engine,
        *,
        wall: Clock | None = None,
        refresh_seconds: Seconds = REFRESH_SECONDS,
    ) -> None:
        self._engine = engine
        self._wall = wall or SystemClock()
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._offset: timedelta | None = None
        self._read_at = 0.0

    def now(self) -> datetime:
        return self._wall.now() + self.offset

    @property
    def offset(self) -> timedelta:
        """The stored offset, read again when the last read is older than the refresh time."""
        with self._lock:
            fresh = time.monotonic() - self._read_at < self._refresh_seconds
            if self._offset is None or not fresh:
                self._offset = self._read()
                self._read_at = time.monotonic()
            return self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move business time forward by ``delta`` for every process; returns the new now."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        step = delta // timedelta(microseconds=1)
        values = {"id": CLOCK_ID, "offset_us": step, "moved_at": SystemClock().now()}
        insert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        row = insert(TABLE).values(values)
        statement = row.on_conflict_do_update(
            index_elements=[TABLE.c.id],
            set_={
                "offset_us": TABLE.c.offset_us + row.excluded.offset_us,
                "moved_at": row.excluded.moved_at,
            },
        ).returning(TABLE.c.offset_us)
        with self._engine.begin() as connection:
            stored = int(connection.execute(statement).scalar_one())
        with self._lock:
            self._offset = timedelta(microseconds=stored)
            self._read_at = time.monotonic()
        return self._wall.now() + self._offset

    def _read(self) -> timedelta:
        # Its own connection, which on SQLite takes no write lock: ``now()`` is asked from inside
        # transactions that hold it.
        with self._engine.connect().execution_options(**{READS_ONLY: True}) as connection:
            stored = connection.execute(
                select(TABLE.c.offset_us).where(TABLE.c.id == CLOCK_ID)
            ).scalar_one_or_none()
        return timedelta(microseconds=int(stored or 0))
