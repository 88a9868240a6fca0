"""Running the sweeps: once (``run_due``), every interval in the background (``Scheduler``, with
APScheduler 3.11), or as a process of its own (``run_scheduler_forever``)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from settlement.foundation.clock import Seconds
from settlement.foundation.metrics import (
    LAST_RUN,
    LEADING,
    SWEEP_DURATION,
    SWEEP_ITEMS,
    SWEEP_LAG,
    SWEEP_RUNS,
)
from settlement.scheduler.autopay import AUTOPAY
from settlement.scheduler.context import SchedulerContext
from settlement.scheduler.leader import Leadership, leadership_for
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.sweeps import SWEEPS
from settlement.usecases.paying.payments import deliver_due_callbacks

logger = logging.getLogger("shuxin.scheduler")

JOB_ID = "shuxin-sweeps"
WALLET_CALLBACKS = "wallet_callbacks"
#: The sweeps whose items fall due at a moment of their own (a deadline, the end of a day), so
#: their lag is measured (``shuxin_scheduler_sweep_lag_seconds``).
DUE_DRIVEN = frozenset({"auto_close", "reminders", "overdue", "escalate"})


@dataclass
class RunReport:
    """Every sweep of one run, by name."""

    now: datetime
    sweeps: dict[str, SweepReport] = field(default_factory=dict)

    def ids(self, name: str) -> list[str]:
        return self.sweeps[name].ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "sweeps": {name: report.as_dict() for name, report in self.sweeps.items()},
        }


def deliver_wallet_callbacks(container: SchedulerContext, *, include_delayed: bool) -> SweepReport:
    """The sandbox wallet's queued callbacks (a real provider calls ``/v1/wallets/…/notify``)."""
    outcomes = deliver_due_callbacks(container, include_delayed=include_delayed)
    report = SweepReport(WALLET_CALLBACKS)
    for outcome in outcomes:
        report.counts[outcome.outcome] = report.counts.get(outcome.outcome, 0) + 1
    return report


def run_due(
    container: SchedulerContext, *, now: datetime | None = None, include_delayed: bool = False
) -> RunReport:
    """Run every sweep once for ``now`` (the container's clock by default).

    A sweep that fails is logged and reported; the others still run, and the next run retries.
    """
    now = now or container.clock.now()
    report = RunReport(now=now)
    for name, sweep in SWEEPS:
        _run_one(report, name, partial(sweep, container, now))
        if name == AUTOPAY:
            # The wallet's answers to the auto-pay just started, before the overdue sweep: a
            # payment that failed leaves its bill ``billed`` again, and it goes overdue now.
            callbacks = partial(
                deliver_wallet_callbacks, container, include_delayed=include_delayed
            )
            _run_one(report, WALLET_CALLBACKS, callbacks)
    LAST_RUN.set(time.time())
    return report


def _run_one(report: RunReport, name: str, sweep: Callable[[], SweepReport]) -> None:
    started = time.perf_counter()
    try:
        report.sweeps[name] = sweep()
    except Exception as error:
        logger.exception("sweep %s failed", name)
        report.sweeps[name] = SweepReport(name, error=type(error).__name__)
    _measure(name, report.sweeps[name], report.now, Seconds(time.perf_counter() - started))


def _measure(name: str, report: SweepReport, now: datetime, seconds: Seconds) -> None:
    SWEEP_RUNS.labels(name, "error" if report.error else "ok").inc()
    SWEEP_DURATION.labels(name).observe(seconds)
    if report.items:
        SWEEP_ITEMS.labels(name).inc(report.items)
    if name in DUE_DRIVEN:
        lag = (now - report.due_since).total_seconds() if report.due_since is not None else 0.0
        SWEEP_LAG.labels(name).set(max(lag, 0.0))


class Scheduler:
    """Runs :func:`run_due` every ``settings.scheduler_interval_seconds`` while it leads."""

    def __init__(
        self,
        container: SchedulerContext,
        *,
        leadership: Leadership | None = None,
        interval_seconds: int | None = None,
    ) -> None:
        self.container = container
        self.leadership = leadership or leadership_for(container)
        self.interval_seconds = (
            interval_seconds
            if interval_seconds is not None
            else container.settings.scheduler_interval_seconds
        )
        self._tick_lock = threading.Lock()
        self._background: BackgroundScheduler | None = None
        self.last_report: RunReport | None = None

    @property
    def leader_id(self) -> str:
        return self.leadership.leader_id

    def tick(self) -> RunReport | None:
        """One beat: lead (or stay a follower) and, when leading, run what is due."""
        if not self._tick_lock.acquire(blocking=False):
            return None  # the previous beat is still sweeping
        try:
            leads = self.leadership.try_lead()
            LEADING.set(1 if leads else 0)
            if not leads:
                return None
            self.last_report = run_due(self.container)
            return self.last_report
        except Exception:
            logger.exception("scheduler tick failed")
            return None
        finally:
            self._tick_lock.release()

    def start(self) -> None:
        """Tick now and then every interval, in a background thread."""
        # APScheduler drops a run that starts over a second late (its default grace): on a busy
        # machine that dropped the sweeps at start, and any beat, until the next interval. A
        # late beat is still due, and coalescing keeps a backlog to one run.
        background = BackgroundScheduler(
            timezone="UTC", job_defaults={"misfire_grace_time": None, "coalesce": True}
        )
        background.add_job(
            self.tick,
            "interval",
            seconds=self.interval_seconds,
            id=JOB_ID,
            name="sweeps",
            max_instances=1,
            coalesce=True,
        )
        # No trigger: runs at once. Named apart, so the log does not read as one job twice.
        background.add_job(self.tick, id=f"{JOB_ID}-first", name="sweeps at start")
        background.start()
        self._background = background
        logger.info("scheduler %s started, every %s s", self.leader_id, self.interval_seconds)

    def stop(self) -> None:
        """Stop ticking, wait for a running sweep, and give the lead up."""
        background, self._background = self._background, None
        if background is not None:
            background.shutdown(wait=True)
        with self._tick_lock:
            self.leadership.release()
            LEADING.set(0)
        logger.info("scheduler %s stopped", self.leader_id)


def run_scheduler_forever(
    container: SchedulerContext, *, stop: threading.Event | None = None
) -> None:
    """``shuxin scheduler``: run the sweeps until SIGINT or SIGTERM (or ``stop`` is set)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
    scheduler = Scheduler(container)
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.stop()
