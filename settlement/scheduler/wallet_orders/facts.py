"""What the pending-orders sweep reads: the page of orders pending too long (one statement),
the provider's answer about each, then each order it settles with its bill and settlement under
their locks (the callback's own read, bill first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.adapters.wallets import ProviderOrder, WalletProvider
from settlement.billing.payment_tables import WalletOrder
from settlement.scheduler.wallet_orders.decide import PENDING
from settlement.usecases.paying.facts import locked_order

__all__ = ["BATCH_SIZE", "StaleOrder", "locked_order", "provider_answer", "stale_orders"]

#: Orders asked about per run, oldest first; the rest wait for the next tick.
BATCH_SIZE = 200


@dataclass(frozen=True, slots=True)
class StaleOrder:
    """An order still pending that was opened long enough ago to be asked about."""

    order_id: str
    provider: str
    amount_fen: int


def stale_orders(session: Session, *, cutoff: datetime) -> list[StaleOrder]:
    """The orders still pending that were opened at ``cutoff`` or before, oldest first."""
    query = (
        select(WalletOrder.order_id, WalletOrder.provider, WalletOrder.amount_fen)
        .where(WalletOrder.status == PENDING, WalletOrder.created_at <= cutoff)
        .order_by(WalletOrder.created_at, WalletOrder.order_id)
        .limit(BATCH_SIZE)
    )
    return [StaleOrder(*row) for row in session.execute(query)]


def provider_answer(wallet: WalletProvider, order_id: str) -> ProviderOrder | None:
    """The provider's view of the order (the outside call), ``None`` if it does not know it."""
    return wallet.query(order_id)
