"""Wallet orders left pending without a callback: ask the provider, then confirm or fail.

A provider's callback can be lost (a network cut, a crash between their send and our commit).
A pending order holds its bill in ``paying`` (which the overdue sweep leaves to its payment) and
keeps the personal account and the accumulators reserved, so it must not wait forever. After
``[payments] query_pending_after_minutes`` (``seeds/scheme.toml``) the sweep asks the provider
(``WalletProvider.query``) and applies its answer (:mod:`.decide`) through the same path as a
callback (:func:`settlement.usecases.paying.outcomes.apply_order_outcome`), under the same locks
taken in the same order (the bill, then its order and settlement): a callback racing the sweep
waits for it and then finds the order settled (a duplicate), or settles it first and the sweep
finds nothing left to do. The money moves once.

The shape of every use case: :mod:`.facts` reads the page, and the provider is asked about each
order in that one read transaction, holding no lock (an outside call never keeps a bill's
callback or payment waiting); :mod:`.decide` says what each answer does, in pure code. An order
the answer leaves pending costs nothing more: no lock, no transaction. An order it settles is
locked as a callback locks it, found still pending (else a callback or another sweep got there
first) and settled by the callback's own writes. The provider's answer may be read before the
lock because it is final once it says ``succeeded`` or ``failed`` (or does not know the order,
which was opened with the provider before it was stored). Each order settled is its own
transaction, and so is each failure: one that raises, asked or settled, is recorded in
``sweep_failures`` and the others are still resolved.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.failures import Failed, isolated, record_apart
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.wallet_orders.decide import (
    BUSY,
    Leave,
    Resolution,
    Settle,
    decide_answer,
    worth_asking,
)
from settlement.scheduler.wallet_orders.facts import (
    StaleOrder,
    locked_order,
    provider_answer,
    stale_orders,
)
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.outcomes import apply_order_outcome
from settlement.usecases.paying.service import wallet_for

logger = logging.getLogger("shuxin.payments")

WALLET_ORDERS = "wallet_orders"


def sweep_pending_orders(context: PayingContext, now: datetime) -> SweepReport:
    """Query the provider about wallet orders pending too long; confirm or fail them."""
    report = SweepReport(WALLET_ORDERS)
    cutoff = now - context.scheme.payments.query_pending_after
    with context.uow() as uow:
        asked = [
            (order, _ask(context, uow, order, now))
            for order in stale_orders(uow.session, cutoff=cutoff)
        ]
    for order, resolution in asked:
        outcome = _settled(context, order, resolution, now)
        report.counts[outcome] = report.counts.get(outcome, 0) + 1
        if outcome in ("succeeded", "failed"):
            report.ids.append(order.order_id)
    return report


def _ask(
    context: PayingContext, uow: UnitOfWork, order: StaleOrder, now: datetime
) -> Resolution | Failed:
    """What the provider's answer about ``order`` does to it; a failure to ask is recorded."""
    try:
        answer = provider_answer(wallet_for(context, uow.session, order.provider), order.order_id)
    except Exception as error:
        uow.session.rollback()  # the next order is asked afresh
        return record_apart(
            context.uow, sweep=WALLET_ORDERS, item_id=order.order_id, error=error, now=now
        )
    resolution = decide_answer(order_amount_fen=order.amount_fen, answer=answer)
    if resolution == Leave("amount_mismatch") and answer is not None:
        logger.warning(
            "wallet order %s: the provider reports %s paid, the order is for %s fen",
            order.order_id,
            answer.amount,
            order.amount_fen,
        )
    return resolution


def _settled(
    context: PayingContext, order: StaleOrder, resolution: Resolution | Failed, now: datetime
) -> str:
    """The outcome of ``order``: settled as ``resolution`` says in a transaction of its own,
    or left (``still_pending``, ``amount_mismatch``), or ``error``."""
    if isinstance(resolution, Leave):
        return resolution.outcome
    if isinstance(resolution, Failed):
        return "error"
    settled = isolated(
        context.uow,
        sweep=WALLET_ORDERS,
        item_id=order.order_id,
        now=now,
        work=partial(_settle, context, order, resolution, now),
    )
    return "error" if isinstance(settled, Failed) else settled


def _settle(
    context: PayingContext, order: StaleOrder, resolution: Settle, now: datetime, uow: UnitOfWork
) -> str:
    """Apply the provider's answer to the order, locked as a callback locks it; returns the
    outcome (``succeeded``, ``failed``, or ``busy`` when it is no longer pending)."""
    session = uow.session
    locked = locked_order(session, order.order_id, order.provider)
    if locked is None or not worth_asking(locked[1].status):
        return BUSY.outcome  # a callback or another sweep got there first
    bill, row, record = locked
    apply_order_outcome(
        session,
        context,
        bill,
        row,
        succeeded=resolution.succeeded,
        provider_txn_id=resolution.provider_txn_id,
        seq=row.last_seq,
        now=now,
        record=record,
    )
    uow.commit()
    logger.info("wallet order %s %s on query", order.order_id, row.status)
    return resolution.outcome
