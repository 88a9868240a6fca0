"""Stored first answers, so that a retried write returns the same answer and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Integer, String, Table, Text, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.dml import Insert

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


def try_claim_key(
    session: Session, *, scope: str, key: str, fingerprint: str, now: datetime
) -> bool:
    """Insert the key as in progress unless it exists; ``False`` when it was taken.

    One statement, no exception: ``INSERT … ON CONFLICT DO NOTHING``. On PostgreSQL a claim of a
    key a concurrent transaction has just claimed waits for that transaction to end, then inserts
    nothing if it committed (so the caller replays its answer) or claims the key if it rolled back.
    """
    table = cast(Table, IdempotencyRecord.__table__)
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": IN_PROGRESS,
        "response_body": None,
        "created_at": now,
        "expires_at": now + KEY_RETENTION,
    }
    dialect = session.get_bind().dialect.name
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql_insert(table).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite_insert(table).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        statement = insert(table).values(values)
    return session.execute(statement.returning(table.c.key)).first() is not None


def store_answer(session: Session, *, scope: str, key: str, status_code: int, body: str) -> None:
    """Record the answer of a claimed key (one UPDATE, no ORM object)."""
    table = cast(Table, IdempotencyRecord.__table__)
    session.execute(
        update(table)
        .where(table.c.scope == scope, table.c.key == key)
        .values(status_code=status_code, response_body=body)
    )


def purge_expired_keys(session: Session, *, now: datetime) -> int:
    """Forget keys past their retention; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


def count_keys(session: Session) -> int:
    return len(session.scalars(select(IdempotencyRecord.key)).all())
