"""Stored first answers, so that a retried write returns the same answer and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, String, Table, Text, bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.db import (
    execute_on_connection,
    insert_all,
    insert_ignoring_conflicts,
)
from settlement.foundation.orm import Base, UTCDateTime

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
    statement = _CLAIM[session.get_bind().dialect.name]
    values = _claim_values(scope, key, fingerprint, now)
    return execute_on_connection(session, statement, values).first() is not None


def try_claim_keys(
    session: Session, claims: Sequence[tuple[str, str, str]], *, now: datetime
) -> set[tuple[str, str]]:
    """:func:`try_claim_key` for several ``(scope, key, fingerprint)`` in one statement; returns
    the ``(scope, key)`` pairs claimed. Give them sorted: concurrent claimers then wait on each
    other's keys in one order."""
    if not claims:
        return set()
    rows = [_claim_values(scope, key, fingerprint, now) for scope, key, fingerprint in claims]
    if session.get_bind().dialect.name == "postgresql":
        # One JSON parameter: the statement's text is the same for any number of claims.
        claimed = insert_all(session, _RECORDS, rows, skip_conflicts=True, returning=_CLAIMED)
        return {(scope, key) for scope, key in claimed}
    statement = _CLAIM[session.get_bind().dialect.name]
    return {(scope, key) for scope, key in execute_on_connection(session, statement, rows)}


def _claim_values(scope: str, key: str, fingerprint: str, now: datetime) -> dict[str, Any]:
    return {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": IN_PROGRESS,
        "response_body": None,
        "created_at": now,
        "expires_at": now + KEY_RETENTION,
    }


def store_answers(session: Session, answers: Sequence[tuple[str, str, int, str]]) -> None:
    """:func:`store_answer` for several ``(scope, key, status_code, body)`` at once."""
    if not answers:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One UPDATE of one JSON parameter; an executemany would send an UPDATE per answer.
        rows = [
            {"scope": scope, "key": key, "status_code": status, "response_body": body}
            for scope, key, status, body in answers
        ]
        session.flush()
        session.connection().exec_driver_sql(_STORE_ANSWERS_JSON, (json.dumps(rows),))
        return
    execute_on_connection(
        session,
        _STORE_ANSWER,
        [
            {"s": scope, "k": key, "status_code": status, "response_body": body}
            for scope, key, status, body in answers
        ],
    )


def release_keys(session: Session, keys: Collection[tuple[str, str]]) -> None:
    """Drop claims this transaction made and will not answer (their requests run again)."""
    if keys:
        execute_on_connection(
            session,
            delete(_RECORDS).where(tuple_(_RECORDS.c.scope, _RECORDS.c.key).in_(sorted(keys))),
        )


def store_answer(session: Session, *, scope: str, key: str, status_code: int, body: str) -> None:
    """Record the answer of a claimed key (one UPDATE, no ORM object)."""
    execute_on_connection(
        session,
        _STORE_ANSWER,
        {"s": scope, "k": key, "status_code": status_code, "response_body": body},
    )


_RECORDS = cast(Table, IdempotencyRecord.__table__)
#: Built once: every idempotent write runs both.
_CLAIM_COLUMNS = (
    "scope",
    "key",
    "fingerprint",
    "status_code",
    "response_body",
    "created_at",
    "expires_at",
)
#: A claim says which ``(scope, key)`` it won: a group's claims are of several scopes.
_CLAIM = insert_ignoring_conflicts(_RECORDS, _CLAIM_COLUMNS, _RECORDS.c.scope, _RECORDS.c.key)
_CLAIMED = ("scope", "key")
#: :func:`store_answers` on PostgreSQL: the answers as the table's records, in one statement.
_STORE_ANSWERS_JSON = """
    UPDATE idempotency_records AS stored
    SET status_code = answer.status_code, response_body = answer.response_body
    FROM json_populate_recordset(NULL::idempotency_records, %s::json) AS answer
    WHERE stored.scope = answer.scope AND stored."key" = answer."key"
"""
_STORE_ANSWER = (
    update(_RECORDS)
    .where(_RECORDS.c.scope == bindparam("s"), _RECORDS.c.key == bindparam("k"))
    .values(status_code=bindparam("status_code"), response_body=bindparam("response_body"))
)


def purge_expired_keys(session: Session, *, now: datetime) -> int:
    """Forget keys past their retention; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


def count_keys(session: Session) -> int:
    return len(session.scalars(select(IdempotencyRecord.key)).all())
