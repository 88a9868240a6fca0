"""Administration of hospitals: register one (its signing secret shown once) and rotate it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import ADMIN_AUTH_RESPONSES, AdminDep
from api.deps import ContainerDep
from api.errors import ApiError
from api.exact_json import ExactJsonRoute
from api.idempotency import OptionalIdempotencyDep, Restore
from api.logs import audit
from settlement.access.hospitals import (
    create_hospital,
    get_hospital,
    hospital_secret,
    rotate_secret,
)
from settlement.bootstrap import Container
from settlement.foundation.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/admin/v1/hospitals", tags=["administration"], route_class=ExactJsonRoute
)

#: Admin writes share one idempotency scope: there is one administrator token per deployment.
ADMIN_SCOPE = "admin"

HospitalCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"),
    Field(
        description="The hospital's code (its national fixmedins_code), 1–32 characters",
        examples=["H37140200001"],
    ),
]


class HospitalCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "H37140200001", "name": "德州市人民医院", "level": 3}]
        },
    )

    code: HospitalCode
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    level: Literal[1, 2, 3] = Field(description="Hospital level; sets the pooled-fund ratio")


class HospitalCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "H37140200001",
                    "name": "德州市人民医院",
                    "level": 3,
                    "secret": "9f2c…64 hex digits…",
                }
            ]
        }
    )

    code: str
    name: str
    level: int
    secret: str = Field(description="The signing secret; shown only now (rotate to get another)")


class HospitalSecret(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "H37140200001", "secret": "4be1…64 hex digits…"}]}
    )

    code: str
    secret: str = Field(description="The new signing secret; the old one stopped working")


#: Stored with an admin answer instead of the secret, so a replay can tell if it still holds.
SECRET_VERSION = "secret_version"
NOT_STORED = (
    "A retry with the same `Idempotency-Key` shows the secret again only while it is still the "
    "current one (the secret itself is never stored); after a rotation the retry is `409 conflict`."
)


def _redact_secret(body: dict[str, Any], version: int) -> dict[str, Any]:
    stored = {k: v for k, v in body.items() if k != "secret"}
    stored[SECRET_VERSION] = version
    return stored


def _secret_restorer(container: Container) -> Restore:
    """Rebuild a replayed answer with the hospital's current secret, if it was not rotated since."""

    def restore(uow: UnitOfWork, status: int, stored: Any) -> tuple[int, Any]:
        body = dict(stored)
        version = body.pop(SECRET_VERSION)
        hospital = get_hospital(uow.session, str(body["code"]))
        if hospital is None or hospital.secret_version != version:
            raise ApiError(
                "conflict",
                "the secret this request returned has been rotated since; rotate it again "
                "with a new Idempotency-Key to get a working one",
                reason="secret_rotated",
            )
        body["secret"] = hospital_secret(hospital, container.settings.secret_key)
        return status, body

    return restore


@router.post(
    "",
    status_code=201,
    summary="Register a hospital",
    response_model=HospitalCreated,
    responses={
        **ADMIN_AUTH_RESPONSES,
        409: {
            "description": "`duplicate_hospital`: a hospital with this code exists; "
            "`idempotency_key_reused`; `conflict`: a retry after the secret was rotated"
        },
        422: {"description": "`validation_error`, including a missing `Idempotency-Key`"},
    },
    description=NOT_STORED,
)
def register_hospital(
    body: HospitalCreate, _: AdminDep, container: ContainerDep, idem: OptionalIdempotencyDep
) -> JSONResponse:
    """Register a hospital and show its HIS signing secret once."""
    version = 1

    def action(uow: UnitOfWork) -> tuple[int, HospitalCreated]:
        nonlocal version
        hospital, secret = create_hospital(
            uow.session,
            code=body.code,
            name=body.name,
            level=body.level,
            secret_key=container.settings.secret_key,
            clock=container.clock,
        )
        version = hospital.secret_version
        return 201, HospitalCreated(
            code=hospital.code, name=hospital.name, level=hospital.level, secret=secret
        )

    response = idem.run(
        scope=ADMIN_SCOPE,
        action=action,
        redact=lambda answer: _redact_secret(answer, version),
        restore=_secret_restorer(container),
    )
    audit.info("hospital registration answered", code=body.code, status=response.status_code)
    return response


@router.post(
    "/{code}/secret",
    summary="Rotate a hospital's signing secret",
    response_model=HospitalSecret,
    responses={
        **ADMIN_AUTH_RESPONSES,
        404: {"description": "`not_found`: no hospital has this code"},
        409: {
            "description": "`idempotency_key_reused`; `conflict`: a retry after the secret was "
            "rotated again"
        },
        422: {"description": "`validation_error`, including a missing `Idempotency-Key`"},
    },
    description=NOT_STORED,
)
def rotate_hospital_secret(
    code: Annotated[str, Path(max_length=32, examples=["H37140200001"])],
    _: AdminDep,
    container: ContainerDep,
    idem: OptionalIdempotencyDep,
) -> JSONResponse:
    """Give the hospital a new signing secret; the old one stops working at once."""
    version = 0

    def action(uow: UnitOfWork) -> tuple[int, HospitalSecret]:
        nonlocal version
        secret = rotate_secret(
            uow.session, code=code, secret_key=container.settings.secret_key, clock=container.clock
        )
        hospital = get_hospital(uow.session, code)
        assert hospital is not None  # rotate_secret has just locked and changed it
        version = hospital.secret_version
        return 200, HospitalSecret(code=code, secret=secret)

    response = idem.run(
        scope=ADMIN_SCOPE,
        action=action,
        redact=lambda answer: _redact_secret(answer, version),
        restore=_secret_restorer(container),
    )
    audit.info("hospital secret rotation answered", code=code, status=response.status_code)
    return response
