"""Idempotent writes: the first answer is stored with the change, in the same transaction.

A write runs inside one unit of work that first claims ``(scope, key)``. A concurrent request with
the same key blocks on that claim (a unique index on PostgreSQL, the single writer on SQLite)
until the first commits, and then replays its answer: the action runs once. A business refusal is
stored too (its changes rolled back with their transaction, the answer stored in a second one),
so a retry gets the same refusal; one asking for a retry (503) is not.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ContainerDep
from api.errors import ApiError, refusal_answer
from settlement.bootstrap import Container
from settlement.foundation.errors import ServiceError
from settlement.foundation.idempotency import (
    IN_PROGRESS,
    IdempotencyRecord,
    find_record,
    store_answer,
    try_claim_key,
)
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.credit.errors import CreditServiceError

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,64}$")
REPLAY_HEADER = "Idempotent-Replayed"

Action = Callable[[UnitOfWork], tuple[int, Any]]
#: Turns a successful answer's body into what may be stored (e.g. without a secret).
Redact = Callable[[Any], Any]
#: Rebuilds a replayed successful answer from the stored body; may refuse with an ``ApiError``.
Restore = Callable[[UnitOfWork, int, Any], tuple[int, Any]]


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """The same request, whatever its JSON whitespace or key order, has the same fingerprint."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        # Not JSON (a refused body is answered 422 before any write): the bytes are the request.
        canonical = body
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + canonical).hexdigest()


class IdempotentWrite:
    """One idempotent write of the current request; call :meth:`run` with the caller's scope."""

    def __init__(self, container: Container, key: str, fingerprint: str) -> None:
        self.container = container
        self.key = key
        self.fingerprint = fingerprint

    def run(
        self,
        *,
        scope: str,
        action: Action,
        redact: Redact | None = None,
        restore: Restore | None = None,
    ) -> JSONResponse:
        """Run ``action`` once for this key; a retry replays the stored answer.

        ``redact``/``restore`` keep what must never be stored (a secret) out of the record: a
        successful answer is stored redacted, and a replay is rebuilt by ``restore``.
        """
        container = self.container
        with container.uow() as uow:
            # Claim first (one statement): the common case, a new key, costs no read.
            if not self._claim(uow, scope):
                return self._answer_for_taken_key(uow, scope, restore)
            try:
                status, body = perform(uow, action)
            except (ServiceError, ApiError, CreditServiceError) as refusal:
                # Leaving the block rolls back the action's changes and the claim together; the
                # refusal is then stored under a fresh claim (see _store_refusal).
                refused = refusal_answer(refusal)
            else:
                # Encoded once: the same bytes are stored and sent (unless redacted for storage).
                rendered = stored = render_json(body)
                if redact is not None and _succeeded(status):
                    stored = render_json(redact(body))
                store_answer(
                    uow.session, scope=scope, key=self.key, status_code=status, body=stored.decode()
                )
                uow.commit()
                return RenderedJSONResponse(rendered, status_code=status)
        if refused[0] == RETRY_LATER:  # "retry the request": not the key's answer, not stored
            return RenderedJSONResponse(render_json(refused[1]), status_code=RETRY_LATER)
        return self._store_refusal(scope, refused, restore)

    def _claim(self, uow: UnitOfWork, scope: str) -> bool:
        return try_claim_key(
            uow.session,
            scope=scope,
            key=self.key,
            fingerprint=self.fingerprint,
            now=self.container.clock.now(),
        )

    def _answer_for_taken_key(
        self, uow: UnitOfWork, scope: str, restore: Restore | None
    ) -> JSONResponse:
        existing = find_record(uow.session, scope=scope, key=self.key)
        if existing is None:  # claimed by a request that has not committed yet
            raise ApiError(
                "idempotency_key_in_use", "a request with this Idempotency-Key is still running"
            )
        return self._replay(existing, uow, restore)

    def _store_refusal(
        self, scope: str, refused: tuple[int, Any], restore: Restore | None
    ) -> JSONResponse:
        """Store a refusal as the key's answer, in a transaction of its own.

        Why not a savepoint around the action: SAVEPOINT and RELEASE are two more round trips on
        every successful write, while refusals are rare and change nothing, so only they pay for
        a second short transaction. Between the two, a concurrent request with the same key may
        claim it; it is then that request's answer that this one replays.
        """
        status, body = refused
        with self.container.uow() as uow:
            if not self._claim(uow, scope):
                return self._answer_for_taken_key(uow, scope, restore)
            rendered = render_json(body)
            store_answer(
                uow.session, scope=scope, key=self.key, status_code=status, body=rendered.decode()
            )
            uow.commit()
        return RenderedJSONResponse(rendered, status_code=status)

    def _replay(
        self, record: IdempotencyRecord, uow: UnitOfWork, restore: Restore | None
    ) -> JSONResponse:
        if record.fingerprint != self.fingerprint:
            raise ApiError(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            )
        if record.status_code == IN_PROGRESS or record.response_body is None:
            raise ApiError(
                "idempotency_key_in_use", "a request with this Idempotency-Key is still running"
            )
        status, body = record.status_code, json.loads(record.response_body)
        if restore is not None and _succeeded(status):
            status, body = restore(uow, status, body)
        return JSONResponse(body, status_code=status, headers={REPLAY_HEADER: "true"})


class UnrecordedWrite:
    """A write whose Idempotency-Key is optional, sent without one: it runs once, unrecorded,
    as any plain POST would (``run`` takes :meth:`IdempotentWrite.run`'s arguments)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def run(
        self,
        *,
        scope: str,
        action: Action,
        redact: Redact | None = None,
        restore: Restore | None = None,
    ) -> JSONResponse:
        with self.container.uow() as uow:
            status, body = perform(uow, action)
            uow.commit()
        return RenderedJSONResponse(render_json(body), status_code=status)


#: A refusal asking for a retry (an outside system did not answer, e.g.
#: ``insurance_platform_unavailable``): nothing was written and the outcome is not final, so the
#: key stays free and a retry with it runs the action again (which resolves what the first left).
RETRY_LATER = 503


def perform(uow: UnitOfWork, action: Action) -> tuple[int, Any]:
    """Run a write's action; its status and JSON-ready body."""
    status, payload = action(uow)
    if isinstance(payload, BaseModel):
        return status, payload.model_dump(mode="json")  # already JSON-ready
    return status, jsonable_encoder(payload)


def render_json(body: Any) -> bytes:
    """JSON exactly as :class:`JSONResponse` renders it."""
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class RenderedJSONResponse(JSONResponse):
    """A JSON response whose body was rendered already (by :func:`render_json`)."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else super().render(content)


def _succeeded(status: int) -> bool:
    return 200 <= status < 300


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1–64 visible ASCII characters, unique per caller and request; a retry "
        "with the same key returns the first answer with `Idempotent-Replayed: true`.",
    ),
]


async def idempotent_write(
    request: Request, container: ContainerDep, idempotency_key: IdempotencyKeyHeader = None
) -> IdempotentWrite:
    """The contract's idempotent writes (HIS writes, payments): the key is required."""
    if idempotency_key is None:
        _refuse_key("is required")
    return await _idempotent(request, container, idempotency_key)


async def optionally_idempotent_write(
    request: Request, container: ContainerDep, idempotency_key: IdempotencyKeyHeader = None
) -> IdempotentWrite | UnrecordedWrite:
    """Writes the contract does not make idempotent (signing, family, hospitals): with a key
    they are, as the others; without one the write runs once, as a plain POST would."""
    if idempotency_key is None:
        return UnrecordedWrite(container)
    return await _idempotent(request, container, idempotency_key)


async def _idempotent(request: Request, container: Container, key: str) -> IdempotentWrite:
    if not KEY_PATTERN.fullmatch(key):
        _refuse_key("must be 1–64 visible characters")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    fingerprint = request_fingerprint(request.method, path, await request.body())
    return IdempotentWrite(container, key, fingerprint)


def _refuse_key(problem: str) -> NoReturn:
    raise ApiError(
        "validation_error",
        f"header Idempotency-Key {problem}",
        fields=[{"path": "header.Idempotency-Key", "message": problem, "type": "idempotency"}],
    )


IdempotencyDep = Annotated[IdempotentWrite, Depends(idempotent_write)]
OptionalIdempotencyDep = Annotated[
    IdempotentWrite | UnrecordedWrite, Depends(optionally_idempotent_write)
]
