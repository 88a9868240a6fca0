"""Patients' bearer tokens: opaque random strings, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.orm import Base, UTCDateTime

TOKEN_LIFETIME = timedelta(days=30)


class AccessToken(Base):
    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    psn_no: str
    expires_at: datetime
    expires_in: int


def token_hash(token: str) -> str:
    # A token carries 256 random bits, so a plain hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, psn_no: str, now: datetime) -> IssuedToken:
    """Create a bearer token for ``psn_no``, valid for 30 days."""
    token = secrets.token_urlsafe(32)
    expires_at = now + TOKEN_LIFETIME
    session.add(
        AccessToken(
            token_hash=token_hash(token),
            psn_no=psn_no,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    session.flush()
    return IssuedToken(token, psn_no, expires_at, int(TOKEN_LIFETIME.total_seconds()))


def resolve_token(session: Session, *, token: str, now: datetime) -> str | None:
    """The ``psn_no`` a live (unexpired, unrevoked) token belongs to, or ``None``."""
    return session.scalars(
        select(AccessToken.psn_no).where(
            AccessToken.token_hash == token_hash(token),
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now,
        )
    ).one_or_none()


def revoke_token(session: Session, *, token: str, now: datetime) -> bool:
    """Revoke a token (logout); ``False`` if it was not live."""
    result = session.execute(
        update(AccessToken)
        .where(AccessToken.token_hash == token_hash(token), AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0)) == 1
