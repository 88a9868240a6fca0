"""The sweeps: each a function ``(context, now) -> SweepReport`` over what is due in the database,
``context`` being only what that sweep uses (a Protocol the process's container satisfies).

Nothing here is scheduled per bill: every deadline lives on a row (``bills.due_at``,
``visits.opened_at``), so a sweep after a restart finds everything that fell due while the
scheduler was down. Each batch is its own transaction; on PostgreSQL batches are taken with
``FOR UPDATE SKIP LOCKED``, so two sweeps share the work instead of queueing on it. The
``scheduled_actions`` row inserted with the effect makes each action happen once per bill and kind.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from settlement.access.nonces import purge_expired_nonces
from settlement.access.otp import purge_expired_codes
from settlement.access.rate_limits import purge_expired_counters
from settlement.billing import bill_states
from settlement.billing.payment_tables import purge_refused_callbacks
from settlement.billing.tables import Bill
from settlement.foundation.clock import Clock
from settlement.foundation.config import Settings
from settlement.foundation.idempotency import purge_expired_keys
from settlement.foundation.sweep_failures import purge_sweep_failures
from settlement.foundation.unit_of_work import UnitOfWork, UnitOfWorkFactory
from settlement.messages.dispatcher import DispatchContext, dispatch_outbox
from settlement.messages.outbox import purge_sent_messages
from settlement.scheduler.actions import claim_actions
from settlement.scheduler.auto_close import end_of_visit_day, last_auto_close, sweep_auto_close
from settlement.scheduler.autopay import sweep_autopay
from settlement.scheduler.batches import (
    BATCH_SIZE,
    SetApart,
    sweep_batches,
    take_batch,
)
from settlement.scheduler.context import SchedulerContext
from settlement.scheduler.covered import awaiting_settlement, sweep_settle_covered
from settlement.scheduler.escalation import sweep_escalation
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.movements import sweep_account_movements
from settlement.scheduler.reminders import sweep_reminders
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.wallet_orders import sweep_pending_orders
from settlement.usecases.credit.decisions import CreditConfig
from settlement.usecases.notices import NoticesContext, notify_bills
from settlement.usecases.overdue import DUE_BILL_COLUMNS, DueBill, due_now, mark_overdue

__all__ = [
    "BATCH_SIZE",
    "SWEEPS",
    "end_of_visit_day",
    "last_auto_close",
    "sweep_auto_close",
    "sweep_autopay",
    "sweep_escalation",
    "sweep_expiry",
    "sweep_outbox",
    "sweep_overdue",
    "sweep_reminders",
]

OVERDUE = "overdue"


Sweep = Callable[["SchedulerContext", datetime], SweepReport]


class OverdueContext(NoticesContext, Protocol):
    """What the overdue sweep uses: the engine (its dialect sets the workers), transactions,
    the credit events policy, and what notices use."""

    @property
    def engine(self) -> Engine: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...

    @property
    def credit_config(self) -> CreditConfig: ...


class ExpiryContext(Protocol):
    """What the expiry sweep uses: the retention settings, the wall clock, transactions."""

    @property
    def settings(self) -> Settings: ...

    @property
    def real_clock(self) -> Clock: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...


# -- overdue ------------------------------------------------------------------------------


#: Transactions that share the overdue sweep on PostgreSQL (``SKIP LOCKED`` hands them different
#: batches). Two keep both the server and this process busy: while one batch's rows are computed
#: here, the other's are written. SQLite serialises writers, so it sweeps with one.
OVERDUE_WORKERS = 2


def sweep_overdue(container: OverdueContext, now: datetime) -> SweepReport:
    """Unpaid bills at ``due_at`` become overdue (line frozen, people told), once each.

    A bill with a payment in flight (``paying``) is left to its payment: if it fails, the bill is
    ``billed`` again and the next sweep makes it overdue. No bill is overdue in the sweep that made
    it: a visit that closed itself days ago and is swept only now is due the policy's minimum
    notice (24 h) from now (``close_visit``), and the reminder sweep, earlier in the same tick,
    has told its patient. Auto-pay, earlier in the same tick too, has been tried on every bill
    whose patient authorised it, however late the tick.

    A bill the insurance accounts cover whose settlement is still being retried
    (``settlement.scheduler.covered``: the platform failed, the patient owes ¥0.00 from the
    wallet) is left alone, past its deadline or not, for as long as it waits; read in the
    statement that takes each batch (``awaiting_insurance``) and decided in pure code
    (``due_now``), it is left out of the run's later batches. Set aside by the retry, it is
    due again, no sooner than ``min_notice`` after that (``covered``'s docstring).
    """
    workers = OVERDUE_WORKERS if container.engine.dialect.name == "postgresql" else 1
    apart = SetApart()
    if workers == 1:
        done = _overdue_batches(container, now, apart)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="overdue-sweep") as pool:
            shares = list(
                pool.map(lambda _: _overdue_batches(container, now, apart), range(workers))
            )
        done = [bill for share in shares for bill in share]
    done.sort(key=lambda bill: (bill.due_at, bill.bill_id))
    report = SweepReport(OVERDUE, ids=[bill.bill_id for bill in done])
    if done:
        report.fell_due(done[0].due_at)
    return report


def _overdue_batches(container: OverdueContext, now: datetime, apart: SetApart) -> list[DueBill]:
    """One worker's part of :func:`sweep_overdue`: batches until none is left to take."""
    return sweep_batches(
        container.uow,
        sweep=OVERDUE,
        now=now,
        due=select(*OVERDUE_COLUMNS).where(Bill.status == bill_states.BILLED, Bill.due_at <= now),
        take=take_batch(BATCH_SIZE, by_due_at=True),
        act=partial(_make_overdue, container, now, apart),
        apart=apart,
    )


#: What the overdue sweep reads of each bill it takes: a sweep's columns, and whether the bill
#: waits for the insurance platform.
OVERDUE_COLUMNS = (*DUE_BILL_COLUMNS, awaiting_settlement().label("awaiting_insurance"))


def _make_overdue(
    container: OverdueContext,
    now: datetime,
    apart: SetApart,
    session: Session,
    batch: list[DueBill],
) -> list[DueBill]:
    due, waiting = due_now(batch)
    apart.add([b.bill_id for b in waiting])  # left alone, and out of this run's later batches
    claimed = claim_actions(session, bill_ids=[b.bill_id for b in due], kind=OVERDUE, now=now)
    bills = [b for b in due if b.bill_id in claimed]
    notify = partial(notify_bills, container=container)
    mark_overdue(
        session, policy=container.credit_config.policy, notify=notify, bills=bills, now=now
    )
    return bills


# -- expiry --------------------------------------------------------------------------------------


def sweep_expiry(container: ExpiryContext, now: datetime) -> SweepReport:
    """Forget idempotency keys, nonces, login codes, rate counters, sent messages, refused
    callbacks and sweep failures past their retention; each kind in a transaction of its own."""
    kept_since = now - timedelta(days=container.settings.message_retention_days)
    # Nonces, login codes and rate counters expire in real time (the test clock never moves
    # authentication): purged by business time, a nonce could be forgotten, and replayed,
    # minutes after the clock was advanced.
    real_now = container.real_clock.now()
    purges: dict[str, Callable[[Session], int]] = {
        "messages": lambda session: purge_sent_messages(session, before=kept_since),
        "refused_callbacks": lambda session: purge_refused_callbacks(session, before=kept_since),
        "idempotency_keys": lambda session: purge_expired_keys(session, now=now),
        "nonces": lambda session: purge_expired_nonces(session, real_now),
        "otp_codes": lambda session: purge_expired_codes(session, real_now),
        "rate_limit_counters": lambda session: purge_expired_counters(session, real_now),
        "sweep_failures": lambda session: purge_sweep_failures(session, before=kept_since),
    }
    report = SweepReport("expiry")
    for name, purge in purges.items():
        purged = isolated(
            container.uow, sweep="expiry", item_id=name, now=now, work=partial(_purge, purge)
        )
        if not isinstance(purged, Failed):
            report.counts[name] = purged
    return report


def _purge(purge: Callable[[Session], int], uow: UnitOfWork) -> int:
    purged = purge(uow.session)
    uow.commit()
    return purged


def sweep_outbox(container: DispatchContext, now: datetime) -> SweepReport:
    """Send the pending messages."""
    result = dispatch_outbox(container, now)
    return SweepReport("messages", counts=result.as_dict())


#: In the order a tick runs them: close the day's visits first, so their bills get their
#: at-close reminder and auto-pay in the same tick; messages last, so they leave at once.
SWEEPS: tuple[tuple[str, Sweep], ...] = (
    ("auto_close", sweep_auto_close),
    ("settle_covered", sweep_settle_covered),
    ("autopay", sweep_autopay),
    ("wallet_orders", sweep_pending_orders),
    ("account_movements", sweep_account_movements),
    ("reminders", sweep_reminders),
    ("overdue", sweep_overdue),
    ("escalate", sweep_escalation),
    ("expiry", sweep_expiry),
    ("messages", sweep_outbox),
)
