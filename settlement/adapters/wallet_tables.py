"""The sandbox wallet provider's own state: behaviour, orders, queued callbacks, refunds and
withholding agreements, as a real provider would keep them on its side."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

#: The wallet providers a patient can pay with.
PROVIDERS = ("wechat", "alipay")


class SandboxWalletBehaviour(Base):
    """What the sandbox provider does with its next order: succeed, fail or delay."""

    __tablename__ = "sandbox_wallet_behaviours"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    next: Mapped[str] = mapped_column(String(16))
    #: False: applies to the next order only, then back to ``succeed``.
    repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxWalletOrder(Base):
    __tablename__ = "sandbox_wallet_orders"

    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    description: Mapped[str] = mapped_column(String(200))
    #: pending | succeeded | failed, as the provider sees it.
    status: Mapped[str] = mapped_column(String(16))
    provider_txn_id: Mapped[str] = mapped_column(String(64))
    withholding: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxWalletCallback(Base):
    """A signed callback the sandbox provider will deliver (queued with the order's transaction)."""

    __tablename__ = "sandbox_wallet_callbacks"
    __table_args__ = (Index("ix_sandbox_wallet_callbacks_due", "delivered_at", "delayed"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(64))
    delayed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)


class SandboxWalletRefund(Base):
    __tablename__ = "sandbox_wallet_refunds"

    refund_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(40), index=True)
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxWalletAgreement(Base):
    """Withholding agreements (auto-pay, 无感支付) the sandbox provider holds."""

    __tablename__ = "sandbox_wallet_agreements"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
