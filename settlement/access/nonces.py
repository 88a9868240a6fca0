"""The nonce store: a signed request is accepted once; a replay within the window is refused.

The primary key ``(hospital_code, nonce)`` decides races: two requests with the same nonce insert
at once, and exactly one row (and so one request) wins. Rows older than
``NONCE_RETENTION_SECONDS`` are purged; by then their timestamp is outside the window anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import String, Table, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.access.signing import NONCE_RETENTION_SECONDS
from settlement.db import insert_ignoring_conflicts
from settlement.orm import Base, UTCDateTime


class RequestNonce(Base):
    __tablename__ = "request_nonces"

    hospital_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def record_nonce(session: Session, *, hospital_code: str, nonce: str, now: datetime) -> bool:
    """Remember the nonce; ``False`` if it was seen before (the caller commits at once)."""
    statement = _RECORD[session.get_bind().dialect.name]
    values = {"hospital_code": hospital_code, "nonce": nonce, "seen_at": now}
    return session.execute(statement, values).first() is not None


_NONCES = cast(Table, RequestNonce.__table__)
#: Built once (every signed request runs it); a row back means this request won the nonce.
_RECORD = insert_ignoring_conflicts(_NONCES, ("hospital_code", "nonce", "seen_at"), _NONCES.c.nonce)


def purge_expired_nonces(session: Session, now: datetime) -> int:
    """Delete nonces older than the retention window; return how many went."""
    cutoff = now - timedelta(seconds=NONCE_RETENTION_SECONDS)
    result = session.execute(delete(RequestNonce).where(RequestNonce.seen_at < cutoff))
    return int(getattr(result, "rowcount", 0))
