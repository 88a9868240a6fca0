"""Stored first answers, so that a retried write returns the same answer and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.orm import Base, UTCDateTime

#: The contract keeps keys at least 7 days.
KEY_RETENTION = timedelta(days=7)
IN_PROGRESS = 0


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer, default=IN_PROGRESS)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def find_record(session: Session, *, scope: str, key: str) -> IdempotencyRecord | None:
    return session.get(IdempotencyRecord, (scope, key))


def claim_key(
    session: Session, *, scope: str, key: str, fingerprint: str, now: datetime
) -> IdempotencyRecord:
    """Insert the key as in progress; a concurrent claim of the same key waits on it, then fails."""
    record = IdempotencyRecord(
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        status_code=IN_PROGRESS,
        created_at=now,
        expires_at=now + KEY_RETENTION,
    )
    session.add(record)
    session.flush()
    return record


def purge_expired_keys(session: Session, *, now: datetime) -> int:
    """Forget keys past their retention; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


def count_keys(session: Session) -> int:
    return len(session.scalars(select(IdempotencyRecord.key)).all())
