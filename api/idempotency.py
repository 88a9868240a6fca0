"""Idempotent writes: the first answer is stored with the change, in the same transaction.

A write runs inside one unit of work that first claims ``(scope, key)``. A concurrent request with
the same key blocks on that claim (a unique index on PostgreSQL, the single writer on SQLite)
until the first commits, and then replays its answer: the action runs once. A business refusal is
stored too (its changes rolled back to a savepoint), so a retry gets the same refusal.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ContainerDep
from api.errors import ApiError, refusal_answer
from settlement.bootstrap import Container
from settlement.credit_service.errors import CreditServiceError
from settlement.errors import ServiceError
from settlement.idempotency import (
    IN_PROGRESS,
    IdempotencyRecord,
    find_record,
    store_answer,
    try_claim_key,
)
from settlement.unit_of_work import UnitOfWork

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
    except (ValueError, UnicodeDecodeError):
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
            claimed = try_claim_key(
                uow.session,
                scope=scope,
                key=self.key,
                fingerprint=self.fingerprint,
                now=container.clock.now(),
            )
            if not claimed:
                existing = find_record(uow.session, scope=scope, key=self.key)
                if existing is None:  # claimed by a request that has not committed yet
                    raise ApiError(
                        "idempotency_key_in_use",
                        "a request with this Idempotency-Key is still running",
                    )
                return self._replay(existing, uow, restore)
            status, body = self._perform(uow, action)
            # Encoded once: the same bytes are stored and sent (unless redacted for storage).
            rendered = stored = _render(body)
            if redact is not None and _succeeded(status):
                stored = _render(redact(body))
            store_answer(
                uow.session, scope=scope, key=self.key, status_code=status, body=stored.decode()
            )
            uow.commit()
        return _RenderedJSONResponse(rendered, status_code=status)

    def _perform(self, uow: UnitOfWork, action: Action) -> tuple[int, Any]:
        savepoint = uow.session.begin_nested()
        try:
            status, payload = action(uow)
        except (ServiceError, ApiError, CreditServiceError) as refusal:
            savepoint.rollback()
            return refusal_answer(refusal)
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        if isinstance(payload, BaseModel):
            return status, payload.model_dump(mode="json")  # already JSON-ready
        return status, jsonable_encoder(payload)

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


def _render(body: Any) -> bytes:
    """JSON exactly as :class:`JSONResponse` renders it."""
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class _RenderedJSONResponse(JSONResponse):
    """A JSON response whose body was rendered already (by :func:`_render`)."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else super().render(content)


def _succeeded(status: int) -> bool:
    return 200 <= status < 300


async def idempotent_write(
    request: Request,
    container: ContainerDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1–64 visible ASCII characters, unique per caller and request; a retry "
            "with the same key returns the first answer with `Idempotent-Replayed: true`.",
        ),
    ] = None,
) -> IdempotentWrite:
    if idempotency_key is None or not KEY_PATTERN.fullmatch(idempotency_key):
        problem = "is required" if idempotency_key is None else "must be 1–64 visible characters"
        raise ApiError(
            "validation_error",
            f"header Idempotency-Key {problem}",
            fields=[{"path": "header.Idempotency-Key", "message": problem, "type": "idempotency"}],
        )
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    fingerprint = request_fingerprint(request.method, path, await request.body())
    return IdempotentWrite(container, idempotency_key, fingerprint)


IdempotencyDep = Annotated[IdempotentWrite, Depends(idempotent_write)]
