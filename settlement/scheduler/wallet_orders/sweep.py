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

The shape of every use case: :mod:`.facts` reads the page and each order under its locks,
:mod:`.decide` says what to do in pure code, and the callback's own writes carry it out. Each
order is its own transaction: one that raises is recorded in ``sweep_failures`` and the others
are still resolved.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.wallet_orders.decide import BUSY, Leave, decide_answer, worth_asking
from settlement.scheduler.wallet_orders.facts import locked_order, provider_answer, stale_orders
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.outcomes import apply_order_outcome
from settlement.usecases.paying.service import wallet_for

logger = logging.getLogger("shuxin.payments")

WALLET_ORDERS = "wallet_orders"


def sweep_pending_orders(context: PayingContext, now: datetime) -> SweepReport:
    """Query the provider about wallet orders pending too long; confirm or fail them."""
    report = SweepReport(WALLET_ORDERS)
    with context.uow() as uow:
        stale = stale_orders(uow.session, cutoff=now - context.scheme.payments.query_pending_after)
    for order_id, provider in stale:
        resolved = isolated(
            context.uow,
            sweep=WALLET_ORDERS,
            item_id=order_id,
            now=now,
            work=partial(_resolve, context, order_id, provider, now),
        )
        outcome = "error" if isinstance(resolved, Failed) else resolved
        report.counts[outcome] = report.counts.get(outcome, 0) + 1
        if outcome in ("succeeded", "failed"):
            report.ids.append(order_id)
    return report


def _resolve(
    context: PayingContext, order_id: str, provider: str, now: datetime, uow: UnitOfWork
) -> str:
    """Ask about one pending order and apply the answer; returns the outcome (``succeeded``,
    ``failed``, ``still_pending``, ``amount_mismatch`` or ``busy``)."""
    session = uow.session
    locked = locked_order(session, order_id, provider)
    if locked is None or not worth_asking(locked[1].status):
        return BUSY.outcome  # a callback or another sweep got there first
    bill, order, record = locked
    answer = provider_answer(wallet_for(context, session, provider), order_id)
    resolution = decide_answer(order_amount_fen=order.amount_fen, answer=answer)
    if isinstance(resolution, Leave):
        if resolution.outcome == "amount_mismatch" and answer is not None:
            logger.warning(
                "wallet order %s: the provider reports %s paid, the order is for %s fen",
                order_id,
                answer.amount,
                order.amount_fen,
            )
        return resolution.outcome
    apply_order_outcome(
        session,
        context,
        bill,
        order,
        succeeded=resolution.succeeded,
        provider_txn_id=resolution.provider_txn_id,
        seq=order.last_seq,
        now=now,
        record=record,
    )
    uow.commit()
    logger.info("wallet order %s %s on query", order_id, order.status)
    return resolution.outcome
