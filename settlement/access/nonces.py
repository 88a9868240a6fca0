"""The nonce store: a signed request is accepted once; a replay within the window is refused.

The primary key ``(hospital_code, nonce)`` decides races: two requests with the same nonce insert
at once, and exactly one row (and so one request) wins. Rows older than
``NONCE_RETENTION_SECONDS`` are purged; by then their timestamp is outside the window anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, String, Table, bindparam, delete, exists, func, select, text, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.access.hospitals import Hospital
from settlement.access.signing import NONCE_RETENTION_SECONDS
from settlement.foundation.db import execute_on_connection, insert_ignoring_conflicts
from settlement.foundation.orm import Base, UTCDateTime


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
_SECRET_VERSION = select(Hospital.secret_version).where(Hospital.code == bindparam("hospital_code"))
#: The PostgreSQL insert as a CTE: whether it returned a row says who won the nonce.
_RECORDED = _RECORD["postgresql"].cte("recorded")
_RECORD_READING_VERSION = select(
    exists(select(_RECORDED)).label("recorded"),
    _SECRET_VERSION.scalar_subquery().label("secret_version"),
    func.set_config("synchronous_commit", "off", True).label("asynchronous_commit"),
)


def record_nonce_reading_version(
    engine: Engine, *, hospital_code: str, nonce: str, now: datetime
) -> tuple[bool, int | None]:
    """Remember the nonce, committed at once, and read the hospital's current secret version.

    For a request already verified against a secret this process knows (see
    ``settlement.access.hospitals.KnownHospitals``): the version tells whether that secret is
    still the hospital's. Returns (whether this request won the nonce, the version, or ``None``
    for no such hospital).

    PostgreSQL: one statement outside any transaction block, so one round trip; its commit is
    asynchronous, for the reasons and at the risk ``api.auth._hospital_for_nonce`` documents.
    SQLite: the insert and the read in one short transaction.
    """
    values = {"hospital_code": hospital_code, "nonce": nonce, "seen_at": now}
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            row = connection.execute(_RECORD_READING_VERSION, values).one()
        return bool(row.recorded), row.secret_version
    with engine.begin() as connection:
        recorded = connection.execute(_RECORD["sqlite"], values).first() is not None
        version = connection.execute(_SECRET_VERSION, values).scalar()
    return recorded, version


@dataclass(frozen=True, slots=True)
class NonceClaim:
    """A verified request's nonce, to be recorded with the work it asks for (a group of charge
    batches, ``settlement.usecases.charging.groups``), and the secret version it was verified
    under (``settlement.access.hospitals.KnownHospital``)."""

    hospital_code: str
    nonce: str
    seen_at: datetime
    secret_version: int


def record_nonces(session: Session, claims: Sequence[NonceClaim]) -> dict[tuple[str, str], bool]:
    """Record the nonces in the caller's transaction, in one statement (PostgreSQL); returns, by
    ``(hospital_code, nonce)``, those recorded and whether their hospital's secret is still the
    version they were verified under.

    A nonce seen before is not recorded (not in the answer). One recorded whose secret was
    rotated since (``False``) is recorded all the same: the caller must :func:`forget_nonces`
    it, with those of the requests it does not answer, before it commits. A nonce a concurrent
    transaction has just recorded waits for it to end, as with :func:`record_nonce`.
    """
    if not claims:
        return {}
    rows = execute_on_connection(
        session,
        _RECORD_MANY,
        {
            "codes": [claim.hospital_code for claim in claims],
            "nonces": [claim.nonce for claim in claims],
            "times": [claim.seen_at for claim in claims],
        },
    )
    versions = {(claim.hospital_code, claim.nonce): claim.secret_version for claim in claims}
    return {(code, nonce): versions[(code, nonce)] == version for code, nonce, version in rows}


def forget_nonces(session: Session, recorded: Collection[tuple[str, str]]) -> None:
    """Drop nonces this transaction recorded for requests it does not answer (they record their
    nonce again on their own)."""
    if recorded:
        execute_on_connection(
            session,
            delete(_NONCES).where(
                tuple_(_NONCES.c.hospital_code, _NONCES.c.nonce).in_(sorted(recorded))
            ),
        )


#: One statement for a group's nonces (PostgreSQL), with the current secret version of each
#: recorded nonce's hospital; the arrays keep its text the same whatever the group's size.
_RECORD_MANY = text(
    """
    WITH recorded AS (
        INSERT INTO request_nonces (hospital_code, nonce, seen_at)
        SELECT * FROM unnest(
            CAST(:codes AS VARCHAR[]), CAST(:nonces AS VARCHAR[]), CAST(:times AS TIMESTAMPTZ[])
        )
        ON CONFLICT DO NOTHING
        RETURNING hospital_code, nonce
    )
    SELECT recorded.hospital_code, recorded.nonce, hospitals.secret_version
    FROM recorded JOIN hospitals ON hospitals.code = recorded.hospital_code
    """
)


def purge_expired_nonces(session: Session, now: datetime) -> int:
    """Delete nonces older than the retention window; return how many went."""
    cutoff = now - timedelta(seconds=NONCE_RETENTION_SECONDS)
    result = session.execute(delete(RequestNonce).where(RequestNonce.seen_at < cutoff))
    return int(getattr(result, "rowcount", 0))
