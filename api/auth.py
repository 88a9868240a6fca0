"""Authentication dependencies: signed HIS requests, patients' bearer tokens, the admin token.

Each surface accepts only its own credentials: a patient token on an HIS call, HIS signature
headers on a patient call or the admin token anywhere but ``/admin`` all answer 401.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep
from api.errors import ApiError
from api.logs import note_hospital, note_patient
from settlement.access.delivery import CodeSender
from settlement.access.directory import PersonDirectory, default_person_directory
from settlement.access.hospitals import Hospital, KnownHospital, get_hospital, hospital_secret
from settlement.access.nonces import NonceClaim, record_nonce, record_nonce_reading_version
from settlement.access.signing import (
    HOSPITAL_HEADER,
    NONCE_HEADER,
    NONCE_PATTERN,
    SIGNATURE_HEADER,
    SIGNATURE_PATTERN,
    TIMESTAMP_HEADER,
    TIMESTAMP_PATTERN,
    TIMESTAMP_TOLERANCE_SECONDS,
    canonical_request,
    signature_matches,
)
from settlement.access.tokens import resolve_token
from settlement.bootstrap import Container
from settlement.foundation.db import is_postgres
from settlement.messages.outbox import OutboxCodeSender

HIS_SIGNATURE_DESCRIPTION = (
    "Every HIS request carries `X-Shuxin-Hospital` (the hospital code), `X-Shuxin-Timestamp` "
    "(Unix seconds, within 300 s of the server's clock), `X-Shuxin-Nonce` (16–64 visible "
    "characters, never reused) and `X-Shuxin-Signature`: the lowercase hex HMAC-SHA256, under the "
    "hospital's secret, of `METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nhex(SHA256(body))`, "
    "PATH_WITH_QUERY being the raw path and query string as sent."
)

his_scheme = APIKeyHeader(
    name=HOSPITAL_HEADER,
    scheme_name="HisSignature",
    description=HIS_SIGNATURE_DESCRIPTION,
    auto_error=False,
)
patient_scheme = HTTPBearer(
    scheme_name="PatientToken",
    description="The `access_token` from `POST /v1/auth/token`.",
    auto_error=False,
)
admin_scheme = HTTPBearer(
    scheme_name="AdminToken",
    description="The deployment's administrator token (`SHUXIN_ADMIN_TOKEN`).",
    auto_error=False,
)

#: The 401 answers of each surface, for the routes' ``responses=`` (OpenAPI).
HIS_AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "description": "`unauthenticated` (headers missing or malformed), `unknown_hospital` "
        "(no hospital has the `X-Shuxin-Hospital` code), `bad_signature`, `stale_timestamp`, "
        "`nonce_reused`",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "unknown_hospital",
                        "message": "no hospital has this code",
                    }
                }
            }
        },
    }
}
PATIENT_AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "description": "`unauthenticated`: no bearer token, or it is unknown, expired or revoked",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "unauthenticated",
                        "message": "a patient bearer token is required",
                    }
                }
            }
        },
    }
}
ADMIN_AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "description": "`unauthenticated`: the administrator token is missing or wrong",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "unauthenticated",
                        "message": "the administrator token is required",
                    }
                }
            }
        },
    }
}


def _raw_path_with_query(request: Request) -> str:
    """The path and query exactly as the client sent them (still percent-encoded)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else request.url.path
    query = request.url.query
    return f"{path}?{query}" if query else path


def _hospital_for_nonce(session: Session, code: str) -> Hospital | None:
    """The hospital; on PostgreSQL the same statement makes this transaction's commit asynchronous.

    Why ``synchronous_commit = off`` (for this short transaction only, ``set_config(…, true)`` is
    ``SET LOCAL``): the nonce's commit then returns without waiting for the WAL flush to disk,
    which on a busy server is most of its cost. What it risks: after a crash of PostgreSQL itself
    (not of this process), nonces committed in the last moments (up to about three
    ``wal_writer_delay``, 0.6 s by default) may be forgotten. A request replayed within its 300 s
    timestamp window after such a crash would then pass authentication; every write still needs
    its Idempotency-Key, whose record commits synchronously with the change, so a replayed write
    changes nothing and returns the first answer. A replayed read reveals nothing the original
    did not. Asynchronous commit never breaks consistency: the nonce row is either there or not.
    """
    if session.get_bind().dialect.name != "postgresql":
        return get_hospital(session, code)
    row = session.execute(_HOSPITAL_WITH_ASYNC_COMMIT, {"code": code}).first()
    return None if row is None else row[0]


#: Built once: every signed request runs it.
_HOSPITAL_WITH_ASYNC_COMMIT = select(
    Hospital, func.set_config("synchronous_commit", "off", True)
).where(Hospital.code == bindparam("code"))


@dataclass(frozen=True, slots=True)
class _SignedRequest:
    """What a signed HIS request claims, once its headers are well-formed and its time fresh."""

    code: str
    canonical: str
    signature: str
    nonce: str
    now: datetime


def _verify_and_record_nonce(
    container: Container, request: _SignedRequest, *, nonce_won: bool | None = None
) -> Hospital:
    """Read the hospital, verify the signature and record the nonce; remember the hospital.

    ``nonce_won``: the nonce was recorded already (``True``: by this request; ``False``: by an
    earlier one), when a secret this process knew turned out to be rotated.
    """
    with container.uow() as uow:
        hospital = _hospital_for_nonce(uow.session, request.code)
        if hospital is None:
            raise ApiError("unknown_hospital", "no hospital has this code")
        secret = hospital_secret(hospital, container.settings.secret_key)
        if not signature_matches(secret, request.canonical, request.signature):
            raise ApiError("bad_signature", "the request signature does not verify")
        # The nonce is committed in its own short transaction before the route's work, so a
        # replay is refused even if the first request is still working or later fails (folding
        # it into the route's transaction would forget the nonce of a request that fails).
        if nonce_won is None:
            nonce_won = record_nonce(
                uow.session, hospital_code=request.code, nonce=request.nonce, now=request.now
            )
        if not nonce_won:
            raise ApiError("nonce_reused", "this nonce was seen before")
        uow.commit()
    container.known_hospitals.remember(hospital, secret)
    return hospital


def _known_and_verified(container: Container, request: _SignedRequest) -> KnownHospital | None:
    """The hospital as this process knows it, if the request's signature verifies under its
    known secret (no database); ``None`` otherwise."""
    known = container.known_hospitals.get(request.code)
    if known is None or not signature_matches(known.secret, request.canonical, request.signature):
        return None
    return known


def _record_nonce_of_known(
    container: Container, request: _SignedRequest, known: KnownHospital
) -> Hospital:
    """Record the nonce of a request verified under ``known``'s secret, and check that secret is
    still the hospital's (else judge the request against the hospital as it is now)."""
    won, version = record_nonce_reading_version(
        container.engine, hospital_code=request.code, nonce=request.nonce, now=request.now
    )
    if version != known.secret_version:
        # Rotated since this process read it: judge the request against the hospital as it is.
        container.known_hospitals.forget(request.code)
        return _verify_and_record_nonce(container, request, nonce_won=won)
    if not won:
        raise ApiError("nonce_reused", "this nonce was seen before")
    return known.hospital()


@dataclass(frozen=True)
class SignedHospital:
    """A signed HIS request, its signature verified, whose nonce the route records first thing.

    Every HIS route takes this and calls :meth:`hospital` before anything else. Why the route
    and not the dependency: a route that does database work runs on the thread pool, and so
    would a dependency recording the nonce, two thread hops (each a wait for a thread and for
    the interpreter lock) before any work; this way there is one. The signature is still
    verified before the route runs, in memory under a secret this process knows (or, for a
    hospital it does not know yet, read, verified and its nonce recorded at once), so a forgery
    is refused before its body is read, and a replay is refused before it can change anything.
    A request whose path, query or body is invalid is answered 422 without its nonce recorded:
    it changed nothing, and a replay of it is answered 422 again.

    The one exception, on PostgreSQL: a charge batch's nonce is recorded by the group that posts
    it, in the group's first statement, one for all its batches, and committed with them
    (:meth:`nonce_claim`); a batch the group leaves calls :meth:`hospital` as any route does.
    """

    container: Container
    request: _SignedRequest
    #: A ``Hospital``: read, verified and its nonce recorded already (a hospital this process
    #: did not know). A ``KnownHospital``: verified under the secret known; nonce still to record.
    verified: Hospital | KnownHospital

    def hospital(self) -> Hospital:
        """The hospital, once the nonce is recorded (401 ``nonce_reused`` for a replay)."""
        if isinstance(self.verified, KnownHospital):
            return _record_nonce_of_known(self.container, self.request, self.verified)
        return self.verified

    def nonce_claim(self) -> NonceClaim | None:
        """The nonce, not yet recorded, for a route whose work records it first thing in one
        statement with the nonces of the requests that work with it (a group of charge batches,
        PostgreSQL), with the secret version it was verified under; ``None``: call
        :meth:`hospital` (a hospital this process did not know has its nonce recorded already;
        SQLite records one at a time). A request its group does not answer must then call
        :meth:`hospital`, which records the nonce (or refuses a replay) before anything else."""
        known = self.verified
        if not isinstance(known, KnownHospital) or not is_postgres(self.container.engine):
            return None
        request = self.request
        return NonceClaim(request.code, request.nonce, request.now, known.secret_version)

    def unrecorded_hospital(self) -> Hospital:
        """The hospital as verified, its nonce left to the caller (see :meth:`nonce_claim`)."""
        known = self.verified
        return known.hospital() if isinstance(known, KnownHospital) else known


async def authenticate_hospital(
    request: Request,
    container: ContainerDep,
    hospital_code: Annotated[str | None, Security(his_scheme)],
) -> SignedHospital:
    """The hospital whose secret signed this request (401 otherwise), its nonce left to the
    route (:class:`SignedHospital`)."""
    signed = await _signed_request(request, container, hospital_code)
    verified: Hospital | KnownHospital | None = _known_and_verified(container, signed)
    if verified is None:  # not known to this process yet (or rotated): read, verify, record now
        verified = await run_in_threadpool(_verify_and_record_nonce, container, signed)
    request.state.hospital_code = signed.code
    note_hospital(signed.code)
    return SignedHospital(container, signed, verified)


SignedHospitalDep = Annotated[SignedHospital, Depends(authenticate_hospital)]


async def _signed_request(
    request: Request, container: Container, hospital_code: str | None
) -> _SignedRequest:
    """The request's signature headers, checked for form and freshness, and what was signed."""
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    nonce = request.headers.get(NONCE_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not hospital_code or timestamp is None or nonce is None or signature is None:
        raise ApiError(
            "unauthenticated",
            f"signed request headers required: {HOSPITAL_HEADER}, {TIMESTAMP_HEADER}, "
            f"{NONCE_HEADER}, {SIGNATURE_HEADER}",
        )
    if not TIMESTAMP_PATTERN.fullmatch(timestamp):
        raise ApiError("unauthenticated", f"{TIMESTAMP_HEADER} must be Unix seconds")
    if not NONCE_PATTERN.fullmatch(nonce):
        raise ApiError("unauthenticated", f"{NONCE_HEADER} must be 16–64 visible characters")
    if not SIGNATURE_PATTERN.fullmatch(signature):
        raise ApiError("bad_signature", f"{SIGNATURE_HEADER} must be 64 lowercase hex digits")
    now = container.real_clock.now()  # real time: the test clock never moves signing
    if abs(now.timestamp() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise ApiError(
            "stale_timestamp",
            f"{TIMESTAMP_HEADER} is more than {TIMESTAMP_TOLERANCE_SECONDS} s from server time",
            server_time=int(now.timestamp()),
        )
    body = await request.body()
    canonical = canonical_request(
        request.method, _raw_path_with_query(request), timestamp, nonce, body
    )
    return _SignedRequest(hospital_code, canonical, signature, nonce, now)


def authenticate_patient(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(patient_scheme)],
) -> str:
    """The ``psn_no`` of the patient whose bearer token this is; 401 otherwise."""
    if credentials is None or not credentials.credentials:
        raise ApiError("unauthenticated", "a patient bearer token is required")
    with container.uow() as uow:
        psn_no = resolve_token(
            uow.session, token=credentials.credentials, now=container.real_clock.now()
        )
    if psn_no is None:
        raise ApiError("unauthenticated", "the bearer token is unknown, expired or revoked")
    note_patient(psn_no)
    return psn_no


PatientDep = Annotated[str, Depends(authenticate_patient)]


@dataclass(frozen=True)
class Administrator:
    """The caller proved it holds the deployment's administrator token."""

    name: str = "admin"


def authenticate_admin(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(admin_scheme)],
) -> Administrator:
    """The administrator, if the bearer token is the deployment's admin token; 401 otherwise."""
    expected = container.settings.admin_token.encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if not expected or not hmac.compare_digest(given, expected):
        raise ApiError("unauthenticated", "the administrator token is required")
    return Administrator()


AdminDep = Annotated[Administrator, Depends(authenticate_admin)]


def get_person_directory() -> PersonDirectory:
    """Phone → psn_no; override with ``app.dependency_overrides`` to plug another source."""
    return default_person_directory()


PersonDirectoryDep = Annotated[PersonDirectory, Depends(get_person_directory)]


def get_code_sender(container: ContainerDep) -> CodeSender:
    """Login codes go out by SMS through the message outbox, committed with the code."""
    return OutboxCodeSender(container.clock)


CodeSenderDep = Annotated[CodeSender, Depends(get_code_sender)]
