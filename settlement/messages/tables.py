"""The outbox (messages committed with the state change) and the sandbox's record of sends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SMS = "sms"
PUSH = "push"


class OutboxMessage(Base):
    """One message to one person on one channel, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    #: ``remind_close`` | ``remind_24h`` | ``overdue`` | ``login_code`` …
    kind: Mapped[str] = mapped_column(String(32))
    bill_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    #: The recipient; the dispatcher looks the phone up when it sends, so no phone is stored here.
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    #: The same message in English, for the app's message list (the SMS carries ``body``).
    body_en: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    link: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: A login code's salt (``settlement.foundation.codes``) until it is sent; the body holds
    #: ``CODE_MASK`` instead of the code.
    code_salt: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)


class SandboxMessage(Base):
    """What the sandbox SMS gateway and app-push service received (listed by a sandbox call)."""

    __tablename__ = "sandbox_messages"

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int | None] = mapped_column(FenColumn, nullable=True)
    channel: Mapped[str] = mapped_column(String(8))
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    #: The masked phone for SMS, so not even the sandbox keeps whole numbers.
    address: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
