"""CPU time of a server's processes, read from ``/proc`` (Linux; elsewhere: not measured).

The API benchmark divides it by the requests a run sent: the milliseconds of CPU a request costs
in the server's own processes (the supervisor and its workers), the figure that decides a rate
on a machine whose cores are all busy. PostgreSQL's share is not in it.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:  # the task ended meanwhile
            continue
    return found


def _own_seconds(pid: int) -> float:
    try:
        fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of ``pid`` and its descendants alive now; ``None`` without
    ``/proc``."""
    if not (PROC / "self" / "stat").exists():
        return None
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += _own_seconds(current)
        pending += _children(current)
    return total
