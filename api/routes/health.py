"""Liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import ContainerDep
from api.errors import ApiError
from api.exact_json import ExactJsonRoute
from api.openapi import error_responses, example_response

router = APIRouter(tags=["health"], route_class=ExactJsonRoute)


class HealthPublic(BaseModel):
    status: str
    database: str
    mode: str


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
