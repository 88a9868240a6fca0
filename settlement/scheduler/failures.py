"""One bad row never stops a sweep: each item's failure is isolated, recorded, alerted, skipped.

A sweep hands each item (or a batch of items) to :func:`isolated`, which runs it in a
transaction of its own. If it raises, that transaction is rolled back, the failure is written to
``sweep_failures`` in a fresh transaction (the sweep, the item's id, the error's class and a safe
message), an ERROR line is logged and ``shuxin_scheduler_sweep_item_failures_total`` counts it;
the sweep goes on with the next item. Nothing is retried within the run: the next run tries the
item again, and records it again if it still fails (one row per attempt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from settlement.foundation.sweep_failures import record_failure
from settlement.foundation.unit_of_work import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")


@dataclass(frozen=True)
class Failed:
    """What :func:`isolated` returns for an item that raised."""

    error: Exception


def isolated(
    uow: UnitOfWorkFactory,
    *,
    sweep: str,
    item_id: str,
    now: datetime,
    work: Callable[[UnitOfWork], T],
) -> T | Failed:
    """Run ``work`` in a transaction of its own (``work`` commits); record it if it raises.

    The failure is written after the item's transaction is rolled back, in one of its own, so
    what the item half-did never lands and the record always does.
    """
    try:
        with uow() as unit:
            return work(unit)
    except Exception as error:
        return record_apart(uow, sweep=sweep, item_id=item_id, error=error, now=now)


def record_apart(
    uow: UnitOfWorkFactory, *, sweep: str, item_id: str, error: Exception, now: datetime
) -> Failed:
    """Record an item's failure in a transaction of its own (the item's own rolled back)."""
    with uow() as unit:
        record_failure(unit.session, sweep=sweep, item_id=item_id, error=error, now=now)
        unit.commit()
    return Failed(error)
