"""A scheduler whose thread gets the processor late (a loaded machine) still runs its sweeps.

APScheduler drops a run that starts more than its ``misfire_grace_time`` (1 s by default) after
it was due: the sweeps at start, due the moment ``start`` is called, were dropped whenever the
scheduler's thread first ran more than a second later, and nothing swept until the next interval
(60 s). ``tests/e2e/test_metrics_workers.py`` saw it as a supervisor that had run no sweep.
"""

from __future__ import annotations

import time

from apscheduler.schedulers.background import BackgroundScheduler

from settlement.scheduler import Scheduler

#: Longer than APScheduler's default grace, as long as a busy machine keeps a thread waiting.
LATE_SECONDS = 1.5


def test_the_sweeps_at_start_run_when_the_schedulers_thread_starts_late(service, monkeypatch):
    main_loop = BackgroundScheduler._main_loop

    def late_main_loop(self):
        time.sleep(LATE_SECONDS)
        main_loop(self)

    monkeypatch.setattr(BackgroundScheduler, "_main_loop", late_main_loop)
    scheduler = Scheduler(service.container, interval_seconds=3600)
    scheduler.start()
    try:
        deadline = time.monotonic() + LATE_SECONDS + 30
        while scheduler.last_report is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()

    assert scheduler.last_report is not None, "the sweeps at start never ran"
