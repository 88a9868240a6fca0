"""The clock is injected: jobs and deadlines ask it for ``now``, never the wall clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

#: A duration or a Unix time in seconds: only ever time, never money (Decimal or integer fen).
Seconds = float


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@runtime_checkable
class MovableClock(Protocol):
    """A test clock: business time that can be moved forward (never back)."""

    def now(self) -> datetime: ...

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; returns the new now."""
        ...

    @property
    def offset(self) -> timedelta:
        """How far it has been moved from where it started."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class AdjustableClock:
    """The sandbox and test clock: wall time plus an offset that only moves forward, or frozen."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._frozen_at = frozen_at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    @property
    def offset(self) -> timedelta:
        return self._offset
