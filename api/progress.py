"""Progress bars on the command line (rich), for long work: seeding, verifying the ledger, the
benchmarks' seeding.

On a terminal a bar per stage, drawn on standard error; anywhere else (a pipe, a file, CI)
nothing at all, so logs and captured output stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBars:
    """A :class:`settlement.foundation.progress.Progress` drawn with rich."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._task: TaskID | None = None

    def stage(self, description: str, total: int | None = None) -> None:
        if self._task is not None:
            task = self._bars.tasks[self._task]
            if task.total is None:
                self._bars.update(self._task, total=task.completed)
        self._task = self._bars.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bars.advance(self._task, steps)


@contextmanager
def progress_bars(stream: TextIO | None = None) -> Iterator[ProgressBars]:
    """Bars on ``stream`` (standard error) while the block runs; none when it is no terminal."""
    console = Console(file=stream or sys.stderr)
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    with bars:
        yield ProgressBars(bars)
