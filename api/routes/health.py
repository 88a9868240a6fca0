"""Health for load balancers and operators: liveness, readiness, and the older ``/health``.

``/health/live`` answers 200 as long as the process serves requests; it reads nothing, so a
database outage never makes an orchestrator restart healthy processes. ``/health/ready`` answers
200 when this process can do its work: the database answers, its schema is the code's (Alembic's
head), and a scheduler leads somewhere; otherwise 503 ``not_ready`` naming what failed.

The scheduler check has a grace: on PostgreSQL the lock of a leader that dies is free at once,
and a follower takes it on its next tick (``SHUXIN_SCHEDULER_INTERVAL_SECONDS``). A process that
saw a leader within :data:`LEADER_GRACE_INTERVALS` intervals stays ready meanwhile, so a hand-over
does not take every API process out of the load balancer together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from api.deps import ContainerDep
from api.errors import ApiError, error_body
from api.exact_json import ExactJsonRoute
from api.openapi import error_responses, example_response
from settlement.bootstrap import Container
from settlement.foundation.clock import Seconds
from settlement.migrate import schema_state
from settlement.scheduler.leader import someone_leads

router = APIRouter(tags=["health"], route_class=ExactJsonRoute)

#: How many scheduler intervals a process stays ready after it last saw a leader.
LEADER_GRACE_INTERVALS = 2


class HealthPublic(BaseModel):
    status: str
    database: str
    mode: str


class LivePublic(BaseModel):
    status: str = Field(description="Always `alive`: the process answers")


class CheckPublic(BaseModel):
    ok: bool
    detail: str = Field(description="What was found, for a person reading the answer")


class ReadyChecks(BaseModel):
    database: CheckPublic
    migrations: CheckPublic
    scheduler: CheckPublic


class ReadyPublic(BaseModel):
    status: str = Field(description="`ready`")
    checks: ReadyChecks


READY_EXAMPLE: dict[str, Any] = {
    "status": "ready",
    "checks": {
        "database": {"ok": True, "detail": "postgresql answers"},
        "migrations": {"ok": True, "detail": "at 0001_initial_schema, the code's head"},
        "scheduler": {"ok": True, "detail": "a scheduler leads"},
    },
}
NOT_READY_EXAMPLE: dict[str, Any] = {
    "error": {
        "code": "not_ready",
        "message": "not ready: migrations",
        "checks": {
            "database": {"ok": True, "detail": "postgresql answers"},
            "migrations": {
                "ok": False,
                "detail": "at (none), the code's head is 0001_initial_schema: run shuxin migrate",
            },
            "scheduler": {"ok": True, "detail": "a scheduler leads"},
        },
    }
}


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={
        200: example_response({"status": "ok", "database": "postgresql", "mode": "production"}),
        **error_responses("database_unreachable"),
    },
)
def health(container: ContainerDep) -> HealthPublic:
    """The service is up and its database answers."""
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        raise ApiError(
            "database_unreachable",
            f"the database does not answer: {type(error).__name__}",
            status=503,
        ) from None
    return HealthPublic(
        status="ok", database=container.engine.dialect.name, mode=container.settings.mode
    )


@router.get(
    "/health/live",
    response_model=LivePublic,
    responses={200: example_response({"status": "alive"})},
)
async def live() -> LivePublic:
    """Liveness: the process answers (nothing else is checked)."""
    return LivePublic(status="alive")


@router.get(
    "/health/ready",
    response_model=ReadyPublic,
    responses={
        200: example_response(READY_EXAMPLE, "Ready: every check passed"),
        503: {
            "description": "`not_ready`: a check failed; `checks` says which and why",
            "content": {"application/json": {"example": NOT_READY_EXAMPLE}},
        },
    },
)
def ready(request: Request, container: ContainerDep) -> Any:
    """Readiness: the database answers, its schema is current and a scheduler leads."""
    seen = _leader_sightings(request)
    checks = readiness(container, seen)
    if all(check.ok for check in (checks.database, checks.migrations, checks.scheduler)):
        return ReadyPublic(status="ready", checks=checks)
    failed = [name for name, check in checks if not check.ok]
    body = error_body(
        "not_ready", f"not ready: {', '.join(failed)}", checks=checks.model_dump(mode="json")
    )
    return JSONResponse(body, status_code=503)


@dataclass
class LeaderSightings:
    """When this process last saw a scheduler lead (``time.monotonic``), for the grace."""

    last_seen: Seconds | None = None


def _leader_sightings(request: Request) -> LeaderSightings:
    state = request.app.state
    if not hasattr(state, "leader_sightings"):
        state.leader_sightings = LeaderSightings()
    sightings: LeaderSightings = state.leader_sightings
    return sightings


def readiness(container: Container, seen: LeaderSightings) -> ReadyChecks:
    """Run the three checks; a check that cannot run (the database is down) fails."""
    dialect = container.engine.dialect.name
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            state = schema_state(connection)
    except Exception as error:
        down = CheckPublic(ok=False, detail=f"{dialect} does not answer: {type(error).__name__}")
        unknown = CheckPublic(ok=False, detail="unknown: the database does not answer")
        return ReadyChecks(database=down, migrations=unknown, scheduler=unknown)
    database = CheckPublic(ok=True, detail=f"{dialect} answers")
    at = ", ".join(state.database) or "(none)"
    head = ", ".join(state.code)
    migrations = CheckPublic(
        ok=state.current,
        detail=f"at {at}, the code's head"
        if state.current
        else f"at {at}, the code's head is {head}: run shuxin migrate",
    )
    return ReadyChecks(
        database=database, migrations=migrations, scheduler=_scheduler_check(container, seen)
    )


def _scheduler_check(container: Container, seen: LeaderSightings) -> CheckPublic:
    try:
        leads = someone_leads(container)
    except Exception as error:
        return CheckPublic(ok=False, detail=f"cannot tell: {type(error).__name__}")
    now = time.monotonic()
    if leads:
        seen.last_seen = now
        return CheckPublic(ok=True, detail="a scheduler leads")
    grace = LEADER_GRACE_INTERVALS * container.settings.scheduler_interval_seconds
    if seen.last_seen is not None and now - seen.last_seen <= grace:
        ago = int(now - seen.last_seen)
        return CheckPublic(
            ok=True, detail=f"no scheduler leads now; one led {ago} s ago (hand-over grace)"
        )
    return CheckPublic(
        ok=False, detail="no scheduler leads: run shuxin serve, or shuxin scheduler beside it"
    )
