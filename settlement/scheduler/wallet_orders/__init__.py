"""Wallet orders whose outcome is unknown (no callback came): facts, decide (pure), and the
sweep that asks the provider and settles them through the callback's path."""

from settlement.scheduler.wallet_orders.sweep import WALLET_ORDERS, sweep_pending_orders

__all__ = ["WALLET_ORDERS", "sweep_pending_orders"]
