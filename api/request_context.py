"""What every HTTP request gets around it: an id, its log context, and its count and duration.

The request id is the client's ``X-Request-ID`` when it is sane (1–128 letters, digits and
``._:+=/-``; a proxy's or a load balancer's trace id), else a new one; it is on every log line
the request writes (:mod:`api.logs`) and returned in the answer's ``X-Request-ID``.

This is the outermost layer of the application, outside Starlette's own error handling, so an
unexpected error's 500 carries the id too and is counted. Requests are counted by their route's
template (``/v1/bills/{bill_id}``), never by their path, which would make a metric per bill.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.logs import CURRENT_REQUEST, RequestLog, looks_sensitive
from credit.identity import mask_psn_no

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
#: Path parameters logged masked.
MASKED_PARAMETERS: dict[str, Callable[[str], str]] = {"psn_no": mask_psn_no}


def request_id_of(scope: Scope) -> str:
    """The client's id if sane, else a new one; never one that looks like a phone or an ID
    number, which the log would have to mask (and then it would no longer match the header)."""
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_KEY:
            given: str = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(given) and not looks_sensitive(given):
                return given
            break
    while True:
        made = uuid.uuid4().hex  # about 1 in 140 has a run of digits like a mobile number
        if not looks_sensitive(made):
            return made


def loggable_path(scope: Scope) -> str:
    """The route's template with its parameters filled in, a ``psn_no`` masked; no query."""
    template = metrics.route_template(scope)
    if template == metrics.UNMATCHED:  # a mounted app's file, or no route at all
        return str(scope.get("path", ""))
    path = template
    for name, value in (scope.get("path_params") or {}).items():
        shown = MASKED_PARAMETERS.get(name, str)(str(value))
        path = path.replace(f"{{{name}}}", shown)
    return path


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, mounts: Callable[[], Sequence[str]] = tuple) -> None:
        self.app = app
        self._mounts = mounts
        self._mounted: Sequence[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        log = RequestLog(request_id_of(scope))
        reset = CURRENT_REQUEST.set(log)
        header = (_REQUEST_ID_KEY, log.request_id.encode())
        status = 500
        counted = False

        def count() -> None:
            nonlocal counted
            counted = True
            if self._mounted is None:  # read once the app is complete (routes come after)
                self._mounted = tuple(self._mounts())
            metrics.count_request(
                scope["method"],
                metrics.route_template(scope, self._mounted),
                status,
                time.perf_counter() - started,
            )

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                log.path = loggable_path(scope)  # routed by now: the access line uses it
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the answer's end goes out, not after: a client that has its
                # answer (a scraper next, or a test) finds the request counted.
                count()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not counted:  # no answer's end was sent: the app raised, or the client left
                count()
        # Only after an answer: when the app raised, the server logs the failure after this
        # returns, and those lines are this request's too (each request is a task of its own).
        CURRENT_REQUEST.reset(reset)


def install_request_context(app: FastAPI) -> None:
    """Wrap ``app``'s whole middleware stack, and serve ``/metrics``."""
    build = app.build_middleware_stack

    def mounts() -> list[str]:
        return [route.path for route in app.routes if isinstance(route, Mount)]

    def outermost() -> ASGIApp:
        return RequestContextMiddleware(build(), mounts=mounts)

    app.build_middleware_stack = outermost  # type: ignore[method-assign]
    app.include_router(metrics.router)
