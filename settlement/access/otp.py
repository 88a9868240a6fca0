"""One-time login codes sent to the phone on file.

Six random digits, stored only as an HMAC under the deployment key, valid 5 minutes, used once, at
most 5 attempts each. Requests are rate-limited per phone whether or not the phone is known, and an
unknown phone gets a row with no code, so neither the answers nor the limits reveal who is insured.
Phones are stored as keyed digests too: the table never holds a phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.access.directory import PersonDirectory
from settlement.foundation.codes import login_code, new_code_salt
from settlement.foundation.errors import ServiceError
from settlement.foundation.orm import Base, UTCDateTime

CODE_LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MIN_INTERVAL = timedelta(seconds=60)
HOURLY_LIMIT = 5
RATE_WINDOW = timedelta(hours=1)


class OtpCode(Base):
    __tablename__ = "otp_codes"
    __table_args__ = (Index("ix_otp_codes_phone_digest_created_at", "phone_digest", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone_digest: Mapped[str] = mapped_column(String(64))
    #: ``None`` (and no code) for a phone nobody insured has on file.
    psn_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class CodeRequest:
    """What a code request did: ``code`` is the plain code to send, ``None`` if nothing is sent;
    ``code_salt`` renders it again under the deployment key (:mod:`settlement.foundation.codes`)."""

    code: str | None
    psn_no: str | None
    expires_in: int
    code_salt: str | None = None


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a login attempt: ``psn_no`` when the code was right, else attempts left."""

    psn_no: str | None
    attempts_left: int

    @property
    def ok(self) -> bool:
        return self.psn_no is not None


def phone_digest(secret_key: str, phone: str) -> str:
    return hmac.new(secret_key.encode(), f"phone:{phone}".encode(), hashlib.sha256).hexdigest()


def code_hash(secret_key: str, phone: str, code: str) -> str:
    return hmac.new(secret_key.encode(), f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _retry_after(session: Session, digest: str, now: datetime) -> int | None:
    """Seconds until this phone may ask again, or ``None`` if it may now."""
    recent = list(
        session.scalars(
            select(OtpCode.created_at)
            .where(OtpCode.phone_digest == digest, OtpCode.created_at > now - RATE_WINDOW)
            .order_by(OtpCode.created_at.desc())
        )
    )
    waits: list[timedelta] = []
    if recent and now - recent[0] < MIN_INTERVAL:
        waits.append(recent[0] + MIN_INTERVAL - now)
    if len(recent) >= HOURLY_LIMIT:
        waits.append(recent[HOURLY_LIMIT - 1] + RATE_WINDOW - now)
    if not waits:
        return None
    return max(1, math.ceil(max(waits).total_seconds()))


def request_code(
    session: Session, *, phone: str, directory: PersonDirectory, secret_key: str, now: datetime
) -> CodeRequest:
    """Issue a code for a known phone (a code-less row for an unknown one); may refuse 429."""
    digest = phone_digest(secret_key, phone)
    wait = _retry_after(session, digest, now)
    if wait is not None:
        raise ServiceError(
            "rate_limited", f"too many codes for this phone; retry in {wait} s", retry_after=wait
        )
    psn_no = directory.find_by_phone(session, phone)
    salt = new_code_salt() if psn_no is not None else None
    code = login_code(secret_key, salt) if salt is not None else None
    session.add(
        OtpCode(
            phone_digest=digest,
            psn_no=psn_no,
            code_hash=code_hash(secret_key, phone, code) if code is not None else None,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
            attempts=0,
            used_at=None,
        )
    )
    session.flush()
    return CodeRequest(code, psn_no, int(CODE_LIFETIME.total_seconds()), salt)


def check_code(
    session: Session, *, phone: str, code: str, secret_key: str, now: datetime
) -> CodeCheck:
    """Redeem the phone's latest code; a wrong guess uses up an attempt (the caller commits)."""
    digest = phone_digest(secret_key, phone)
    latest = session.scalars(
        select(OtpCode)
        .where(OtpCode.phone_digest == digest)
        .order_by(OtpCode.created_at.desc(), OtpCode.id.desc())
        .limit(1)
    ).one_or_none()
    if latest is None:
        return CodeCheck(None, 0)
    usable = (
        OtpCode.id == latest.id,
        OtpCode.used_at.is_(None),
        OtpCode.attempts < MAX_ATTEMPTS,
        OtpCode.expires_at > now,
    )
    right = latest.code_hash is not None and hmac.compare_digest(
        latest.code_hash, code_hash(secret_key, phone, code)
    )
    # Conditional UPDATEs, not read-then-write: two concurrent tries cannot both redeem the
    # code or slip past the attempt limit, because the database re-checks the condition.
    if right:
        redeemed = session.execute(
            update(OtpCode).where(*usable).values(used_at=now),
            execution_options={"synchronize_session": False},
        )
        if int(getattr(redeemed, "rowcount", 0)) == 1:
            return CodeCheck(latest.psn_no, MAX_ATTEMPTS - latest.attempts)
        return CodeCheck(None, 0)
    session.execute(
        update(OtpCode).where(*usable).values(attempts=OtpCode.attempts + 1),
        execution_options={"synchronize_session": False},
    )
    session.refresh(latest)
    if latest.used_at is not None or latest.expires_at <= now:
        return CodeCheck(None, 0)
    return CodeCheck(None, max(0, MAX_ATTEMPTS - latest.attempts))


def purge_expired_codes(session: Session, now: datetime) -> int:
    """Delete code rows older than the rate-limit window; return how many went."""
    result = session.execute(delete(OtpCode).where(OtpCode.created_at < now - RATE_WINDOW))
    return int(getattr(result, "rowcount", 0))
