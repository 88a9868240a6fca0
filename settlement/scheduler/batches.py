"""Sweeping bills in batches, with one bad bill never stopping the rest.

A batch is taken and acted on in one transaction (one locked read, set-based writes): the fast
path. If acting on it raises, the transaction is rolled back and each of its bills is taken and
acted on alone, in a transaction of its own (:func:`settlement.scheduler.failures.isolated`):
the bill that failed is recorded and left out of the rest of the run, the others are done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from settlement.billing.tables import Bill
from settlement.foundation.db import among, skip_locked
from settlement.foundation.unit_of_work import UnitOfWork, UnitOfWorkFactory
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.tables import ScheduledAction
from settlement.usecases.overdue import DUE_BILL_COLUMNS, DueBill, due_bill

logger = logging.getLogger("shuxin.scheduler")

#: Bills per batch transaction. Bigger batches mean fewer round trips and commits; but the overdue
#: sweep takes one advisory lock per patient in a batch, and PostgreSQL's lock table holds
#: ``max_locks_per_transaction`` (64) × ``max_connections`` (100) locks in all: keep
#: ``BATCH_SIZE × OVERDUE_WORKERS`` well below that.
BATCH_SIZE = 2000


class Take(Protocol):
    """Takes a locked batch of ``query`` (the bills due, minus those set apart in this run),
    skipping rows another transaction holds; ``wait``: waiting for them instead."""

    def __call__(
        self, session: Session, query: Select[Any], *, wait: bool = False
    ) -> list[DueBill]: ...


#: Acts on a taken batch in the caller's transaction; returns the bills it acted on.
Act = Callable[[Session, list[DueBill]], list[DueBill]]


class SetApart:
    """Bills a run handles one by one (their batch failed), or leaves alone (an overdue bill
    waiting for the insurance platform), left out of its later batches.

    Shared by the workers of one sweep, so a bill one of them failed on is not taken again by
    the other in the same run.
    """

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, ids: list[str]) -> None:
        with self._lock:
            self._ids.update(ids)

    def without(self, bills: list[DueBill]) -> list[DueBill]:
        with self._lock:
            return [bill for bill in bills if bill.bill_id not in self._ids]

    def leave_out(self, session: Session, query: Select[Any]) -> Select[Any]:
        with self._lock:
            ids = sorted(self._ids)
        return query.where(~among(session, Bill.bill_id, ids)) if ids else query


def take_batch(size: int, *, by_due_at: bool = False) -> Take:
    """Lock up to ``size`` bills of the query (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).

    ``by_due_at``: the batch is taken in ``due_at`` order and listed by ``(due_at, bill_id)``.
    The database orders by ``due_at`` alone, which ``ix_bills_status_due_at`` gives without a
    sort: ordering by ``bill_id`` too would sort every due bill for each batch (a hundred
    thousand bills due at one moment, sorted again per batch). Ties are ordered here instead.
    """

    def take(session: Session, query: Select[Any], *, wait: bool = False) -> list[DueBill]:
        if by_due_at:
            query = query.order_by(Bill.due_at)
        if wait and session.get_bind().dialect.name == "postgresql":
            # PostgreSQL re-checks the query's conditions on a row once its lock is granted.
            locked = query.limit(size).with_for_update(of=Bill)
        else:
            locked = skip_locked(session, query.limit(size), Bill)
        batch = [due_bill(row) for row in session.execute(locked).all()]
        if by_due_at:
            batch.sort(key=lambda bill: (bill.due_at, bill.bill_id))
        return batch

    return take


def due_bills(*where: Any) -> Select[Any]:
    """The columns a sweep reads of the bills matching ``where``."""
    query: Select[Any] = select(*DUE_BILL_COLUMNS).where(*where)  # type: ignore[assignment]
    return query


def not_done(kind: str) -> Any:
    """The bill has no ``kind`` action recorded yet (done, skipped or failed)."""
    return ~exists().where(ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == kind)


def sweep_batches(
    uow: UnitOfWorkFactory,
    *,
    sweep: str,
    now: datetime,
    due: Select[Any],
    take: Take,
    act: Act,
    apart: SetApart | None = None,
) -> list[DueBill]:
    """Take and act on batches of ``due`` until none is left; returns the bills acted on."""
    apart = apart or SetApart()
    done: list[DueBill] = []
    while True:
        with uow() as unit:
            # Re-checked once locked: another worker may have set a bill apart (and let it go)
            # after this query was built.
            taken = apart.without(take(unit.session, apart.leave_out(unit.session, due)))
            if not taken:
                return done
            try:
                acted = act(unit.session, taken)
                unit.commit()
            except Exception as error:
                # Set apart before the rollback lets the bills go: no other worker takes them.
                apart.add([bill.bill_id for bill in taken])
                failure: Exception | None = error
            else:
                failure = None
        if failure is None:
            done.extend(acted)
            continue
        logger.warning(
            "sweep %s: a batch of %d failed (%s); each bill alone",
            sweep,
            len(taken),
            type(failure).__name__,
        )
        for bill in taken:
            alone = partial(_alone, take, act, due.where(Bill.bill_id == bill.bill_id))
            acted_alone = isolated(uow, sweep=sweep, item_id=bill.bill_id, now=now, work=alone)
            if not isinstance(acted_alone, Failed):
                done.extend(acted_alone)


def _alone(take: Take, act: Act, query: Select[Any], unit: UnitOfWork) -> list[DueBill]:
    # Waiting, not skipping: another worker may hold the bill for a moment, having locked its
    # row in a batch it took just as this one set the bill apart (and then left it out).
    taken = take(unit.session, query, wait=True)
    acted = act(unit.session, taken) if taken else []
    unit.commit()
    return acted
