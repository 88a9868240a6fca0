"""Settlement records (2207), wallet orders, the callback log and the wallet anomalies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, delete, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

#: A settlement's life: pending (wallet order open) → posted | voided; posted → reversed (refund).
SETTLEMENT_STATUSES = ("pending", "posted", "voided", "reversed")


class BillSettlement(Base):
    """One settlement of a bill: the split, its inputs (to rebuild it for a refund), its transfers.

    At most one settlement of a bill is pending or posted at any time: a partial unique index
    enforces it in the database, whatever the code above it does.
    """

    __tablename__ = "bill_settlements"
    __table_args__ = (
        Index(
            "uq_bill_settlements_live_bill",
            "bill_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'posted')"),
            postgresql_where=text("status IN ('pending', 'posted')"),
        ),
        # The operators' figures sum the settlements posted, and those reversed, on a day.
        Index("ix_bill_settlements_posted_at", "posted_at"),
        Index("ix_bill_settlements_reversed_at", "reversed_at"),
    )

    setl_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.bill_id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    payer_psn_no: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(16), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: The contract's setlinfo as two-place strings (what was answered, exactly).
    setlinfo: Mapped[dict[str, Any]] = mapped_column(JSON)
    medfee_sumamt_fen: Mapped[int] = mapped_column(FenColumn)
    hifp_pay_fen: Mapped[int] = mapped_column(FenColumn)
    acct_own_pay_fen: Mapped[int] = mapped_column(FenColumn)
    acct_mulaid_pay_fen: Mapped[int] = mapped_column(FenColumn)
    psn_cash_pay_fen: Mapped[int] = mapped_column(FenColumn)
    # The split's inputs, so a refund can rebuild exactly this settlement (2208).
    lines: Mapped[list[str]] = mapped_column(JSON)
    hospital_level: Mapped[int] = mapped_column(Integer)
    psn_type: Mapped[str] = mapped_column(String(6))
    visit_date: Mapped[date] = mapped_column(Date)
    policy_year: Mapped[int] = mapped_column(Integer)
    deductible_before_fen: Mapped[int] = mapped_column(FenColumn)
    hifp_paid_before_fen: Mapped[int] = mapped_column(FenColumn)
    balance_before_fen: Mapped[int] = mapped_column(FenColumn)
    #: The ledger legs ``{id, source, line, amount_fen}``: source ``hifp`` | ``acct`` | ``cash``
    #: into the line (psn_no) that carried the charge; pending ids while pending, then the posted
    #: ids (what a refund reverses).
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    replaces_setl_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WalletOrder(Base):
    """Our side of a wallet payment order: what we asked the provider for, and what it said."""

    __tablename__ = "wallet_orders"

    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.bill_id"), index=True)
    setl_id: Mapped[str] = mapped_column(ForeignKey("bill_settlements.setl_id"))
    psn_no: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    #: pending → succeeded | failed (terminal: later callbacks change nothing).
    status: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str] = mapped_column(String(64))
    provider_txn_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletCallbackLog(Base):
    """Every callback received, accepted or refused, with what was done about it."""

    __tablename__ = "wallet_callback_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[str | None] = mapped_column(String(32), nullable=True)
    signature_ok: Mapped[bool] = mapped_column(Boolean)
    #: applied | duplicate | stale | ignored | bad_signature | malformed | unknown_order |
    #: amount_mismatch
    outcome: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletAnomaly(Base):
    """A provider's outcome that contradicted the one recorded (a SUCCESS after a FAIL, or the
    reverse), what the provider's own record said when asked, and what was done: for
    reconciliation. One row per order and reported outcome, so a replay records nothing twice."""

    __tablename__ = "wallet_anomalies"
    __table_args__ = (
        Index("uq_wallet_anomalies_order_reported", "order_id", "reported", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(ForeignKey("wallet_orders.order_id"))
    bill_id: Mapped[str] = mapped_column(String(40), index=True)
    #: The order's status when the contradicting callback came: succeeded | failed.
    recorded: Mapped[str] = mapped_column(String(16))
    #: What the callback said: succeeded | failed.
    reported: Mapped[str] = mapped_column(String(16))
    #: What the provider's query answered: succeeded | failed | pending | unknown.
    provider_status: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    #: applied (the money settled the bill still owed) | refunded (through the wallet) |
    #: kept (the provider confirms what was recorded) | unresolved (for an operator).
    resolution: Mapped[str] = mapped_column(String(16))
    setl_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def purge_refused_callbacks(session: Session, *, before: datetime) -> int:
    """Delete the log rows of unsigned callbacks received before ``before``; how many went.
    (Anyone can send those; a signed one stays, as the provider's record.)"""
    result = session.execute(
        delete(WalletCallbackLog).where(
            WalletCallbackLog.signature_ok.is_(False), WalletCallbackLog.received_at < before
        )
    )
    return int(getattr(result, "rowcount", 0))
