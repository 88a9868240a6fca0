"""A request is counted before its answer's end goes out, so whoever has the answer finds it counted.

It used to be counted after the app returned, which is after the last byte was sent: a scraper
that asked right after an answer (``tests/e2e/test_metrics_workers.py``, on a loaded machine)
could miss it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from starlette.types import Message, Receive, Scope, Send

from api.metrics import HTTP_REQUESTS
from api.request_context import RequestContextMiddleware

#: A real route's template: the metrics' labels must name routes the app has.
ROUTE = "/health/live"


class BrokenOff(Exception):
    pass


def counted(route: str, status: str) -> float:
    return HTTP_REQUESTS.labels("GET", route, status)._value.get()


def answered(route: str, *, status: int = 200, raises: bool = False) -> list[float]:
    """Serve one GET of a route whose template is ``route``; the request's count as each message
    of the answer is sent."""
    seen: list[float] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        if raises:
            raise BrokenOff("the app failed mid-answer")
        await send({"type": "http.response.body", "body": b"end"})

    async def send(message: Message) -> None:
        seen.append(counted(route, str(status)))

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": route,
        "headers": [],
        "route": SimpleNamespace(path_format=route),  # as the router leaves it
    }
    # A thread of its own: the suite's thread may already run an event loop (the browser's).
    with ThreadPoolExecutor(1) as thread:
        served = thread.submit(asyncio.run, RequestContextMiddleware(app)(scope, receive, send))
        try:
            served.result()
        except BrokenOff:
            assert raises
    return seen


def test_a_request_is_counted_before_its_answers_end_is_sent_and_once():
    before = counted(ROUTE, "200")  # counters are the process's: compared with before
    seen = answered(ROUTE)
    # Not at the start or mid-answer, but by the time its end goes out; and once.
    assert seen == [before, before, before + 1]
    assert counted(ROUTE, "200") == before + 1


def test_an_answer_the_app_breaks_off_is_still_counted_once():
    before = counted(ROUTE, "200")
    answered(ROUTE, raises=True)
    assert counted(ROUTE, "200") == before + 1
