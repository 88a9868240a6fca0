"""Wallet orders left pending without a callback: ask the provider, then confirm or fail.

A provider's callback can be lost (a network cut, a crash between their send and our commit).
A pending order holds its bill in ``paying`` (which the overdue sweep leaves to its payment) and
keeps the personal account and the accumulators reserved, so it must not wait forever. After
``[payments] query_pending_after_minutes`` (``seeds/scheme.toml``) the sweep asks the provider
(``WalletProvider.query``) and applies its answer through the same path as a callback
(:func:`settlement.usecases.paying.service.apply_order_outcome`). A callback arriving later
finds the order no longer pending and changes nothing.

- ``succeeded`` for the order's amount: confirmed; a different amount is left alone and logged
  (a callback with that amount would be refused too).
- ``failed``: failed, everything reserved goes back.
- ``pending``: left for the next tick.
- unknown to the provider: failed. The order was opened with the provider before our
  transaction committed, so an order the provider does not know was never placed and can never
  be paid; failing it gives the reservation back and makes the bill payable again.

Each order is its own transaction; on PostgreSQL candidates are taken ``SKIP LOCKED``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from insurance.money import to_fen
from settlement.billing.payment_tables import WalletOrder
from settlement.foundation.db import skip_locked
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.facts import lock_bill
from settlement.usecases.paying.service import apply_order_outcome, wallet_for

logger = logging.getLogger("shuxin.payments")

BATCH_SIZE = 200


def stale_order_ids(container: PayingContext, now: datetime) -> list[str]:
    """Pending orders opened at least ``query_pending_after`` before ``now``, oldest first."""
    cutoff = now - container.scheme.payments.query_pending_after
    with container.uow() as uow:
        query = (
            select(WalletOrder.order_id)
            .where(WalletOrder.status == "pending", WalletOrder.created_at <= cutoff)
            .order_by(WalletOrder.created_at, WalletOrder.order_id)
            .limit(BATCH_SIZE)
        )
        return list(uow.session.scalars(query))


def resolve_order(container: PayingContext, order_id: str, now: datetime) -> str:
    """Ask the provider about one pending order and apply the answer; returns the outcome
    (``succeeded``, ``failed``, ``still_pending``, ``amount_mismatch`` or ``busy``)."""
    with container.uow() as uow:
        session = uow.session
        found = session.get(WalletOrder, order_id)
        if found is None or found.status != "pending":
            return "busy"
        bill = lock_bill(session, found.bill_id)
        query = skip_locked(
            session,
            select(WalletOrder)
            .where(WalletOrder.order_id == order_id)
            .execution_options(populate_existing=True),
            WalletOrder,
        )
        order = session.scalars(query).first()
        if bill is None or order is None or order.status != "pending":
            return "busy"  # a callback or another sweep got there first
        answer = wallet_for(container, session, order.provider).query(order_id)
        if answer is not None and answer.status == "pending":
            return "still_pending"
        succeeded = answer is not None and answer.status == "succeeded"
        if answer is not None and succeeded and to_fen(answer.amount) != order.amount_fen:
            logger.warning(
                "wallet order %s: the provider reports %s paid, the order is for %s fen",
                order_id,
                answer.amount,
                order.amount_fen,
            )
            return "amount_mismatch"
        apply_order_outcome(
            session,
            container,
            bill,
            order,
            succeeded=succeeded,
            provider_txn_id=answer.provider_txn_id if answer is not None else "",
            seq=order.last_seq,
            now=now,
        )
        uow.commit()
        logger.info("wallet order %s %s on query", order_id, order.status)
        return order.status
