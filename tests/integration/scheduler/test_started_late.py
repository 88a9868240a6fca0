"""A scheduler whose thread gets the processor late (a loaded machine) still runs its sweeps.

APScheduler drops a run that starts more than its ``misfire_grace_time`` (1 s by default) after
it was due: the sweeps at start, due the moment ``start`` is called, were dropped whenever the
scheduler's thread first ran more than a second later, and nothing swept until the next interval
(60 s). ``tests/e2e/test_metrics_workers.py`` saw it as a supervisor that had run no sweep.

No sleeping: the executor's clock (what it compares a run's due time with) is set ahead by more
than the default grace, as a thread that got the processor that much later would read it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, tzinfo

import apscheduler.executors.base as executors

from settlement.scheduler import Scheduler

#: Longer than APScheduler's default grace, as long as a busy machine keeps a thread waiting.
LATE = timedelta(seconds=1.5)


class _LateClock(datetime):
    """``datetime`` as the executor reads it: ``LATE`` after the real time."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + LATE


def test_the_sweeps_at_start_run_when_the_schedulers_thread_starts_late(service, monkeypatch):
    monkeypatch.setattr(executors, "datetime", _LateClock)
    scheduler = Scheduler(service.container, interval_seconds=3600)
    swept = threading.Event()
    tick = scheduler.tick

    def tick_and_tell(*args: object, **kwargs: object) -> object:
        try:
            return tick(*args, **kwargs)
        finally:
            swept.set()

    monkeypatch.setattr(scheduler, "tick", tick_and_tell)
    scheduler.start()
    try:
        swept.wait(timeout=30)
    finally:
        scheduler.stop()

    assert scheduler.last_report is not None, "the sweeps at start never ran"
