"""What the pending-orders sweep reads: the page of orders pending too long (one statement),
then each order with its bill and settlement under their locks (the callback's own read, bill
first), and the provider's answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.adapters.wallets import ProviderOrder, WalletProvider
from settlement.billing.payment_tables import WalletOrder
from settlement.scheduler.wallet_orders.decide import PENDING
from settlement.usecases.paying.facts import locked_order

__all__ = ["BATCH_SIZE", "locked_order", "provider_answer", "stale_orders"]

#: Orders asked about per run, oldest first; the rest wait for the next tick.
BATCH_SIZE = 200


def stale_orders(session: Session, *, cutoff: datetime) -> list[tuple[str, str]]:
    """``(order_id, provider)`` of the orders still pending that were opened at ``cutoff`` or
    before, oldest first."""
    query = (
        select(WalletOrder.order_id, WalletOrder.provider)
        .where(WalletOrder.status == PENDING, WalletOrder.created_at <= cutoff)
        .order_by(WalletOrder.created_at, WalletOrder.order_id)
        .limit(BATCH_SIZE)
    )
    return [(order_id, provider) for order_id, provider in session.execute(query)]


def provider_answer(wallet: WalletProvider, order_id: str) -> ProviderOrder | None:
    """The provider's view of the order (the outside call), ``None`` if it does not know it."""
    return wallet.query(order_id)
