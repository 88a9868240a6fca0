"""What one request may take of the service: its headers, its body, the time it takes to send them.

:class:`RequestLimits` is the ASGI half (the server's half, a request line and headers that never
arrive whole, is :mod:`api.serving`):

- headers (request line included) over ``max_header_bytes``: ``431 headers_too_large``;
- a body over ``max_body_bytes``: ``413 body_too_large``, at once from its ``Content-Length``
  (the body is not read), or as soon as a chunked body passes the limit;
- a body whose next part does not arrive within ``body_timeout_seconds``: ``408 request_timeout``;
- a NUL or other control character in the path or the query (no identifier has one, and
  PostgreSQL refuses NUL in text): ``422 validation_error`` before any route runs.

Each of the first three answers ``Connection: close``: the rest of the request is not read, so
the connection cannot carry another. The limits are settings (``SHUXIN_MAX_BODY_BYTES`` …).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from settlement.foundation.clock import Seconds
from settlement.foundation.config import Settings

CLOSE = {"Connection": "close"}


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int
    max_header_bytes: int
    body_timeout_seconds: Seconds

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_body_bytes, settings.max_header_bytes, settings.body_timeout_seconds
        )


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; an ``HTTPException`` so FastAPI's body reading lets it through
    (it turns any other exception into a 400) and the error handlers answer it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes", headers=CLOSE)


class BodyTimeout(HTTPException):
    def __init__(self, seconds: Seconds) -> None:
        super().__init__(408, f"the request body stopped arriving for {seconds:g} s", headers=CLOSE)


def _has_control_character(text: bytes) -> bool:
    return any(byte < 0x20 or byte == 0x7F for byte in text)


class RequestLimits:
    """The ASGI middleware: see the module's docstring."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        # Each header line is "name: value\r\n"; the request line is counted with the path.
        size = len(scope.get("raw_path") or b"") + len(scope["query_string"]) + 16
        size += sum(len(name) + len(value) + 4 for name, value in headers)
        if size > limits.max_header_bytes:
            message = (
                f"the request line and headers are larger than {limits.max_header_bytes} bytes"
            )
            await error_response(431, "headers_too_large", message, headers=CLOSE)(
                scope, receive, send
            )
            return
        if _has_control_character(scope["path"].encode()) or _has_control_character(
            unquote_to_bytes(scope["query_string"])
        ):
            where = "path" if _has_control_character(scope["path"].encode()) else "query"
            await error_response(
                422,
                "validation_error",
                f"the {where} must not contain control characters",
                fields=[{"path": where, "message": "control character", "type": "string"}],
            )(scope, receive, send)
            return
        declared = _content_length(headers)
        if declared is not None and declared > limits.max_body_bytes:
            error = BodyTooLarge(limits.max_body_bytes)
            await error_response(413, "body_too_large", error.detail, headers=CLOSE)(
                scope, receive, send
            )
            return
        await self.app(scope, _limited(receive, limits), send)


def _limited(receive: Receive, limits: Limits) -> Receive:
    received = 0
    complete = False

    async def limited_receive() -> Message:
        nonlocal received, complete
        if complete:  # the body is in: what is left to hear is a disconnect, whenever it comes
            return await receive()
        try:
            async with asyncio.timeout(limits.body_timeout_seconds):
                message = await receive()
        except TimeoutError:
            raise BodyTimeout(limits.body_timeout_seconds) from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limits.max_body_bytes:
                raise BodyTooLarge(limits.max_body_bytes)
            complete = not message.get("more_body", False)
        return message

    return limited_receive


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
