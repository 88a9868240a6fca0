"""The metrics settlement code records (Prometheus, through ``prometheus_client``).

Defined once per process, at import, as the client library expects; ``GET /metrics``
(``api.metrics``) exposes them with the API's own. Under ``shuxin serve --workers N`` every
process writes its values to files in the directory ``PROMETHEUS_MULTIPROC_DIR`` names, which
the supervisor sets before any of this is imported (``api.metrics.prepare_multiprocess``); a
scrape of any worker then adds up all of them. Each gauge says how processes combine
(``multiprocess_mode``); outside that mode it is ignored.

Names follow Prometheus's conventions: ``shuxin_`` first, the unit last (``_seconds``,
``_connections``), ``_total`` on counters (added by the library), and labels with few values
(an outcome, an error code, a sweep's name; never an id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

# No ``_created`` series beside each counter and histogram: a second series per label set that
# no dashboard of ours reads.
disable_created_metrics()  # type: ignore[no-untyped-call]

PAYMENTS = Counter(
    "shuxin_payments",
    "Bill payments by outcome: started (a wallet order placed), settled (the wallet confirmed "
    "and everything posted), failed (the wallet refused; everything released), refused (could "
    "not start; code is the error code)",
    ["outcome", "code"],
)

SWEEP_RUNS = Counter(
    "shuxin_scheduler_sweep_runs",
    "Scheduler sweep runs by sweep and outcome (ok, error)",
    ["sweep", "outcome"],
)
SWEEP_ITEMS = Counter(
    "shuxin_scheduler_sweep_items",
    "Items a sweep acted on (bills, visits, messages, records purged)",
    ["sweep"],
)
SWEEP_ITEM_FAILURES = Counter(
    "shuxin_scheduler_sweep_item_failures",
    "Items a sweep failed on, skipped and recorded in sweep_failures (by sweep and the error's "
    "class); the sweep went on with the others, and the next run tries them again",
    ["sweep", "error"],
)
SWEEP_DURATION = Histogram(
    "shuxin_scheduler_sweep_duration_seconds",
    "How long one run of a sweep took",
    ["sweep"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
SWEEP_LAG = Gauge(
    "shuxin_scheduler_sweep_lag_seconds",
    "In a sweep's latest run, how long after it fell due the longest-waiting item it acted on "
    "was acted on (0: nothing was due)",
    ["sweep"],
    multiprocess_mode="mostrecent",
)
LAST_RUN = Gauge(
    "shuxin_scheduler_last_run_timestamp_seconds",
    "When the scheduler last finished a run of its sweeps (Unix time)",
    multiprocess_mode="max",
)
LEADING = Gauge(
    "shuxin_scheduler_leading",
    "1 in a process whose scheduler leads, 0 in one that follows (summed: how many lead)",
    multiprocess_mode="livesum",
)

POOL_IN_USE = Gauge(
    "shuxin_db_pool_in_use_connections",
    "Database connections checked out of the pool, summed over the live processes",
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "shuxin_db_pool_max_connections",
    "Connections the pool may hand out at once (pool size plus overflow), summed over the "
    "live processes",
    multiprocess_mode="livesum",
)

#: Key in ``Session.info`` of what to count once the transaction commits.
_ON_COMMIT = "shuxin_metrics_on_commit"


def count_on_commit(session: Session, count: Callable[[], Any]) -> None:
    """Call ``count`` when ``session``'s transaction commits, never if it rolls back: a use case
    does not commit itself, and what it counts happened only if its transaction does."""
    session.info.setdefault(_ON_COMMIT, []).append(count)


def _after_commit(session: Session) -> None:
    for count in session.info.pop(_ON_COMMIT, ()):
        count()


def _after_rollback(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)


def watch_pool(engine: Engine) -> None:
    """Keep :data:`POOL_IN_USE` and :data:`POOL_MAX` for ``engine``'s pool."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        POOL_MAX.inc(size() + max(getattr(pool, "_max_overflow", 0), 0))

    def checked_out(*_: Any) -> None:
        POOL_IN_USE.inc()

    def returned(*_: Any) -> None:
        POOL_IN_USE.dec()

    event.listen(pool, "checkout", checked_out)
    event.listen(pool, "checkin", returned)
    # A detached connection (the scheduler's lock holder) leaves the pool for good.
    event.listen(pool, "detach", returned)
