"""Hospitals and their signing secrets.

The secret itself is never stored: it is ``hex(HMAC-SHA256(secret_key, code + ":" + salt))``, so a
copy of the database alone reveals nothing; the deployment's ``secret_key`` is needed too. Rotating
draws a new salt, which changes the secret at once (the old one stops verifying).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CheckConstraint, Integer, SmallInteger, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.clock import Clock
from settlement.foundation.errors import ServiceError
from settlement.foundation.orm import Base, UTCDateTime

HOSPITAL_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
HOSPITAL_LEVELS = (1, 2, 3)
#: The salt of sandbox demo hospitals, so their secret is stable and can be printed at start-up.
DEMO_SALT = "demo"


class Hospital(Base):
    __tablename__ = "hospitals"
    __table_args__ = (CheckConstraint("level IN (1, 2, 3)", name="level"),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(SmallInteger)
    secret_salt: Mapped[str] = mapped_column(String(64))
    secret_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True, slots=True)
class KnownHospital:
    """A hospital as this process last read it (its column values), with its signing secret."""

    values: dict[str, Any]
    secret: str

    @property
    def secret_version(self) -> int:
        version: int = self.values["secret_version"]
        return version

    def hospital(self) -> Hospital:
        """A fresh, unattached ``Hospital`` with these values, for the request's own use."""
        return Hospital(**self.values)


class KnownHospitals:
    """Hospitals whose signature this process has verified, with their secrets, by code.

    Why: a signed request would otherwise read its hospital in a transaction of its own before
    recording its nonce. With the secret known, the signature is checked first and the nonce is
    recorded by one statement that also reads the hospital's current ``secret_version``
    (``settlement.access.nonces.record_nonce_reading_version``); a version other than the one
    known means the secret was rotated (by any process), and the hospital is read again. So a
    rotation still takes effect at once everywhere. Hospitals are never deleted, and a rotation
    is the only change to the fields a request uses. Safe to share between threads: one dict,
    whose single reads and writes are atomic.
    """

    def __init__(self) -> None:
        self._by_code: dict[str, KnownHospital] = {}

    def get(self, code: str) -> KnownHospital | None:
        return self._by_code.get(code)

    def remember(self, hospital: Hospital, secret: str) -> None:
        values = {column.key: getattr(hospital, column.key) for column in _HOSPITAL_COLUMNS}
        self._by_code[hospital.code] = KnownHospital(values, secret)

    def forget(self, code: str) -> None:
        self._by_code.pop(code, None)


_HOSPITAL_COLUMNS = cast(Table, Hospital.__table__).columns


def derive_secret(secret_key: str, code: str, salt: str) -> str:
    """The hospital's signing secret: lowercase hex HMAC-SHA256 of ``code:salt``."""
    return hmac.new(secret_key.encode(), f"{code}:{salt}".encode(), hashlib.sha256).hexdigest()


def hospital_secret(hospital: Hospital, secret_key: str) -> str:
    """The current signing secret of ``hospital`` under the deployment's ``secret_key``."""
    return derive_secret(secret_key, hospital.code, hospital.secret_salt)


def _new_salt() -> str:
    return secrets.token_hex(16)


def _check(code: str, name: str, level: int) -> None:
    if not HOSPITAL_CODE_PATTERN.fullmatch(code):
        raise ServiceError("validation_error", "hospital code must be 1–32 letters, digits, _.-")
    if not name.strip() or len(name) > 200:
        raise ServiceError("validation_error", "hospital name must be 1–200 characters")
    if level not in HOSPITAL_LEVELS:
        raise ServiceError("validation_error", "hospital level must be 1, 2 or 3")


def get_hospital(session: Session, code: str) -> Hospital | None:
    """The hospital with this code, or ``None``."""
    return session.get(Hospital, code)


def create_hospital(
    session: Session,
    *,
    code: str,
    name: str,
    level: int,
    secret_key: str,
    clock: Clock,
    salt: str | None = None,
) -> tuple[Hospital, str]:
    """Register a hospital and return it with its secret (shown once; never stored)."""
    _check(code, name, level)
    if session.get(Hospital, code) is not None:
        raise ServiceError(
            "duplicate_hospital", f"a hospital with code {code} exists", hospital=code
        )
    hospital = Hospital(
        code=code,
        name=name,
        level=level,
        secret_salt=salt if salt is not None else _new_salt(),
        secret_version=1,
        created_at=clock.now(),
        rotated_at=None,
    )
    # A savepoint, so a concurrent creation of the same code refuses cleanly instead of
    # poisoning the caller's transaction.
    try:
        with session.begin_nested():
            session.add(hospital)
    except IntegrityError:
        raise ServiceError(
            "duplicate_hospital", f"a hospital with code {code} exists", hospital=code
        ) from None
    return hospital, hospital_secret(hospital, secret_key)


def ensure_hospital(
    session: Session,
    *,
    code: str,
    name: str,
    level: int,
    secret_key: str,
    clock: Clock,
    salt: str | None = None,
) -> tuple[Hospital, str]:
    """Create the hospital unless it exists (seeding); either way return it with its secret."""
    existing = session.get(Hospital, code)
    if existing is not None:
        return existing, hospital_secret(existing, secret_key)
    return create_hospital(
        session, code=code, name=name, level=level, secret_key=secret_key, clock=clock, salt=salt
    )


def rotate_secret(session: Session, *, code: str, secret_key: str, clock: Clock) -> str:
    """Give the hospital a new secret at once and return it; the old one stops verifying."""
    hospital = session.scalars(
        select(Hospital).where(Hospital.code == code).with_for_update()
    ).one_or_none()
    if hospital is None:
        raise ServiceError("not_found", f"no hospital has code {code}", hospital=code)
    hospital.secret_salt = _new_salt()
    hospital.secret_version += 1
    hospital.rotated_at = clock.now()
    session.flush()
    return hospital_secret(hospital, secret_key)
