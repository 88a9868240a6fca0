"""Patients' login: a one-time code to the phone on file, exchanged for a bearer token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import CodeSenderDep, PersonDirectoryDep
from api.deps import ContainerDep
from api.errors import ApiError
from api.exact_json import ExactJsonRoute
from api.logs import audit, note_patient
from api.rate_limits import (
    client_address,
    count_wrong_code,
    enforce,
    refuse,
    refuse_locked_phone,
)
from settlement.access.otp import CODE_LIFETIME, check_code, phone_digest, request_code
from settlement.access.tokens import issue_token
from settlement.foundation.errors import ServiceError
from settlement.messages.dispatcher import dispatch_outbox

router = APIRouter(tags=["patient login"], route_class=ExactJsonRoute)

Phone = Annotated[
    str,
    StringConstraints(pattern=r"^1[0-9]{10}$"),
    Field(
        description="Mainland mobile number: 11 digits starting with 1", examples=["13800138000"]
    ),
]
OtpCodeText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{6}$"),
    Field(description="The 6-digit code sent to the phone", examples=["042917"]),
]


class OtpCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone": "13800138000"}]}
    )

    phone: Phone


class OtpSent(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"sent": True, "expires_in": 300, "sandbox_code": "042917"}]
        }
    )

    sent: bool = Field(description="Always true: the answer never tells whether the phone is known")
    expires_in: int = Field(description="Seconds the code stays valid")
    sandbox_code: str | None = Field(
        default=None, description="The code itself; only in sandbox mode and for a known phone"
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "13800138000", "code": "042917"}]},
    )

    phone: Phone
    code: OtpCodeText


class TokenPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "q0D4c0t9m4l2a7Yl3c0Zp7sKkM2xw8Hh1hN5e6R1yVg",
                    "token_type": "bearer",
                    "expires_in": 2592000,
                    "psn_no": "37140000000000000001",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the token stays valid (30 days)")
    psn_no: str = Field(description="The insured person the token acts for")


RATE_LIMITED_RESPONSE: dict[int | str, dict[str, object]] = {
    429: {
        "description": "`rate_limited`: at most 1 code per 60 s and 5 per hour per phone; "
        "at most `SHUXIN_RATE_LIMIT_OTP_PER_CLIENT` (5/minute;20/hour) per client address and "
        "`SHUXIN_RATE_LIMIT_OTP_OVERALL` (120/minute;3000/hour) for everyone; none for a phone "
        "locked by wrong codes. `retry_after` (and the `Retry-After` header) says when to ask "
        "again",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "rate_limited",
                        "message": "too many codes for this phone; retry in 42 s",
                        "retry_after": 42,
                    }
                }
            }
        },
    }
}
TOKEN_RATE_LIMITED_RESPONSE: dict[int | str, dict[str, object]] = {
    429: {
        "description": "`rate_limited`: at most `SHUXIN_RATE_LIMIT_TOKEN_PER_CLIENT` "
        "(10/minute;60/hour) attempts per client address and `SHUXIN_RATE_LIMIT_TOKEN_OVERALL` "
        "(600/minute) for everyone; a phone with `SHUXIN_LOGIN_FAILURES_PER_PHONE` (10/hour) "
        "wrong codes, across its codes, is locked until the hour is out, its right code too. "
        "`retry_after` (and the `Retry-After` header) says when to try again",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "rate_limited",
                        "message": "too many wrong codes for this phone; it is locked, retry in "
                        "1800 s",
                        "retry_after": 1800,
                    }
                }
            }
        },
    }
}
INVALID_CODE_RESPONSE: dict[int | str, dict[str, object]] = {
    401: {
        "description": "`invalid_code`: wrong, expired, already used, or out of attempts (5 per "
        "code); `attempts_left` says how many tries this code still has",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "invalid_code",
                        "message": "the code is wrong, expired or used",
                        "attempts_left": 3,
                    }
                }
            }
        },
    }
}


@router.post(
    "/v1/auth/otp",
    summary="Send a login code to the phone on file",
    response_model=OtpSent,
    response_model_exclude_none=True,
    responses=RATE_LIMITED_RESPONSE,
)
def send_login_code(
    body: OtpCreate,
    request: Request,
    container: ContainerDep,
    directory: PersonDirectoryDep,
    sender: CodeSenderDep,
    background: BackgroundTasks,
) -> OtpSent | JSONResponse:
    """Send a 6-digit code, valid 5 minutes, to the phone if an insured person has it on file."""
    settings = container.settings
    enforce(
        container,
        [
            (f"otp:client:{client_address(request)}", settings.rate_limit_otp_per_client),
            ("otp:all", settings.rate_limit_otp_overall),
        ],
        what="login code requests",
    )
    with container.uow() as uow:
        refuse_locked_phone(container, uow.session, phone_digest(settings.secret_key, body.phone))
        try:
            issued = request_code(
                uow.session,
                phone=body.phone,
                directory=directory,
                secret_key=settings.secret_key,
                now=container.real_clock.now(),  # a code lasts minutes of real time
            )
        except ServiceError as refusal:
            if refusal.code != "rate_limited":
                raise
            refuse(refusal.message, int(refusal.details["retry_after"]))
        if issued.code is not None and issued.psn_no is not None and issued.code_salt:
            sender.send_login_code(
                uow.session,
                psn_no=issued.psn_no,
                phone=body.phone,
                code=issued.code,
                code_salt=issued.code_salt,
                expires_in=issued.expires_in,
            )
        uow.commit()
    # Send at once rather than at the next scheduler tick; the outbox keeps it if this fails.
    background.add_task(dispatch_outbox, container, container.clock.now())
    return OtpSent(
        sent=True,
        expires_in=int(CODE_LIFETIME.total_seconds()),
        sandbox_code=issued.code if settings.is_sandbox else None,
    )


@router.post(
    "/v1/auth/token",
    summary="Exchange a login code for a bearer token",
    response_model=TokenPublic,
    responses={**INVALID_CODE_RESPONSE, **TOKEN_RATE_LIMITED_RESPONSE},
)
def create_token(body: TokenCreate, request: Request, container: ContainerDep) -> TokenPublic:
    """Redeem the phone's latest code (once) for a 30-day patient bearer token."""
    settings = container.settings
    enforce(
        container,
        [
            (f"token:client:{client_address(request)}", settings.rate_limit_token_per_client),
            ("token:all", settings.rate_limit_token_overall),
        ],
        what="login attempts",
    )
    now = container.real_clock.now()  # codes and tokens expire in real time, not the test clock's
    digest = phone_digest(settings.secret_key, body.phone)
    with container.uow() as uow:
        refuse_locked_phone(container, uow.session, digest)
        check = check_code(
            uow.session,
            phone=body.phone,
            code=body.code,
            secret_key=settings.secret_key,
            now=now,
        )
        token = issue_token(uow.session, psn_no=check.psn_no, now=now) if check.psn_no else None
        if token is None:
            count_wrong_code(container, uow.session, digest)
        # Committed either way: a wrong guess must use up an attempt.
        uow.commit()
    if token is None:
        audit.info("login code refused", attempts_left=check.attempts_left)
        raise ApiError(
            "invalid_code",
            "the code is wrong, expired or used",
            attempts_left=check.attempts_left,
        )
    note_patient(token.psn_no)
    audit.info("patient logged in")
    return TokenPublic(
        access_token=token.token,
        token_type="bearer",
        expires_in=token.expires_in,
        psn_no=token.psn_no,
    )
