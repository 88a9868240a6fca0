"""The directory where the processes of ``shuxin serve --workers N`` keep their metrics.

prometheus_client's multiprocess mode: every process writes its values to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``, and a scrape of any worker reads them all. The variable must be set
before the library is first imported (it picks its storage then), so the supervisor calls
:func:`prepare_metrics_directory` before anything else, and the workers it spawns inherit it.

The directory is emptied at start: files of an earlier run would be added to this one's. When a
worker dies, :func:`mark_worker_dead` drops its live gauges (its counters stay: what it counted
happened). This module imports the library only inside functions, for that reason.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsDirectory:
    """The prepared directory; :meth:`close` removes it when this process made it."""

    def __init__(self, path: Path, *, temporary: bool) -> None:
        self.path = path
        self.temporary = temporary

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare_metrics_directory(configured: Path | None) -> MetricsDirectory:
    """Empty ``configured`` (or make a temporary directory) and point the library at it."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before its multiprocess directory was set"
        )
    if configured is None:
        directory = MetricsDirectory(
            Path(tempfile.mkdtemp(prefix="shuxin-metrics-")), temporary=True
        )
    else:
        configured.mkdir(parents=True, exist_ok=True)
        for stale in configured.glob("*.db"):
            stale.unlink()
        directory = MetricsDirectory(configured, temporary=False)
    os.environ[MULTIPROCESS_ENV] = str(directory.path)
    return directory


def mark_worker_dead(pid: int) -> None:
    """Forget a dead worker's live gauges (its pool use, its part of a sum)."""
    if not os.environ.get(MULTIPROCESS_ENV):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
