"""``GET /metrics``: the service's metrics in Prometheus's text format, for an operator's scraper.

The HTTP metrics and the fee batches are recorded here; payments, the scheduler's sweeps and the
database pool in :mod:`settlement.foundation.metrics`; the outbox is read from the database at
each scrape (:class:`DatabaseCollector`), so any worker answers for all of them. Under
``shuxin serve --workers N`` the values live in ``PROMETHEUS_MULTIPROC_DIR``
(:mod:`api.metrics_files`) and a scrape of any worker adds up every process's, the supervisor's
scheduler included.

The endpoint is an operator's: it answers only to ``Authorization: Bearer`` with the metrics
token (``SHUXIN_METRICS_TOKEN``, a read-only credential to give the scraper) or the
administrator token; anything else is ``401 unauthenticated``. It is not in the OpenAPI document,
which is the integrators' contract.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import Scope

from api.deps import ContainerDep
from api.errors import ApiError
from settlement.bootstrap import Container
from settlement.foundation.clock import Seconds
from settlement.messages.outbox import outbox_backlog

HTTP_REQUESTS = Counter(
    "shuxin_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "shuxin_http_request_duration_seconds",
    "From a request's arrival to the last byte of its answer, by method, route template and "
    "status code",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FEE_BATCHES = Counter(
    "shuxin_fee_batches",
    "Charge batches (2204) answered, by outcome: posted, replayed (the stored answer of a retry), "
    "refused (code is the error code)",
    ["outcome", "code"],
)
NATIONAL_CALLS = Counter(
    "shuxin_national_calls",
    "National-format calls answered (POST /his/v1/national, always HTTP 200), by infno (other: "
    "one Shuxin does not answer) and outcome: done, replayed (the stored answer of a msgid "
    "sent again), refused (code is the error code)",
    ["infno", "outcome", "code"],
)

#: The route label of a request no route matched (its path would be unbounded).
UNMATCHED = "unmatched"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def route_template(scope: Scope, mounts: Sequence[str] = ()) -> str:
    """The matched route's path template (``/his/v1/visits/{mdtrt_id}/fees``), never the path;
    under a mounted app (``mounts``: their paths), the mount's (``/app/static/{path}``)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if isinstance(template, str):
        return template
    path = str(scope.get("path", ""))
    for mount in mounts:
        if path.startswith(f"{mount}/"):
            return f"{mount}/{{path}}"
    return UNMATCHED


def count_request(method: str, route: str, status: int, seconds: Seconds) -> None:
    code = str(status)
    HTTP_REQUESTS.labels(method, route, code).inc()
    HTTP_DURATION.labels(method, route, code).observe(seconds)


def refusal_code(response: Response) -> str | None:
    """The error code of an answer in the envelope (read only for refusals, which are rare)."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(bytes(response.body))
        return str(body["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def count_national_call(infno: str, code: str | None, *, replayed: bool) -> None:
    """One national answer; ``infno`` is the label only for the calls Shuxin answers."""
    if replayed:
        NATIONAL_CALLS.labels(infno, "replayed", "").inc()
    elif code is None:
        NATIONAL_CALLS.labels(infno, "done", "").inc()
    else:
        NATIONAL_CALLS.labels(infno, "refused", code).inc()


def count_fee_batch(status: int, code: str | None, *, replayed: bool) -> None:
    if replayed:
        FEE_BATCHES.labels("replayed", "").inc()
    elif 200 <= status < 300:
        FEE_BATCHES.labels("posted", "").inc()
    else:
        FEE_BATCHES.labels("refused", code or str(status)).inc()


# -- the scrape -----------------------------------------------------------------------------------


class _ThisProcess(Collector):
    """The process's default registry, inside a scrape's own registry."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()

    def describe(self) -> Iterable[Any]:
        return []


class DatabaseCollector(Collector):
    """What the database says at the moment of the scrape: the outbox's depth and age."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def describe(self) -> Iterable[Any]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Any]:
        with self.container.uow() as uow:
            backlog = outbox_backlog(uow.session)
        messages = GaugeMetricFamily(
            "shuxin_outbox_messages",
            "Messages in the outbox by state: pending (to send), failed (given up on)",
            labels=["state"],
        )
        messages.add_metric(["pending"], backlog.pending)
        messages.add_metric(["failed"], backlog.failed)
        yield messages
        age = 0.0
        if backlog.oldest_pending_at is not None:
            waited = self.container.clock.now() - backlog.oldest_pending_at
            age = max(waited.total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "shuxin_outbox_oldest_pending_age_seconds",
            "How long the oldest pending message has waited (0: none is pending)",
            value=age,
        )


def render_metrics(container: Container) -> bytes:
    """Every metric, in the text format: all processes' when several share the directory."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(container))
    return generate_latest(registry)


# -- the endpoint ---------------------------------------------------------------------------------

metrics_scheme = HTTPBearer(
    scheme_name="MetricsToken",
    description="`SHUXIN_METRICS_TOKEN`, or the administrator token",
    auto_error=False,
)


def authorise_scrape(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(metrics_scheme)],
) -> None:
    """The metrics token or the administrator token; 401 otherwise."""
    given = credentials.credentials.encode() if credentials is not None else b""
    accepted = [container.settings.metrics_token, container.settings.admin_token]
    if not given or not any(
        token and hmac.compare_digest(given, token.encode()) for token in accepted
    ):
        raise ApiError(
            "unauthenticated", "the metrics token or the administrator token is required"
        )


router = APIRouter()


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(authorise_scrape)])
def metrics(container: ContainerDep) -> Response:
    """The metrics in Prometheus's text format (an operator's scraper)."""
    return Response(render_metrics(container), media_type=CONTENT_TYPE_LATEST)
