"""The contract's error envelope for every error: ``{"error": {"code", "message", …details}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insurance.money import MoneyError
from settlement.foundation.errors import ServiceError
from settlement.usecases.credit.errors import CreditServiceError

logger = logging.getLogger("shuxin.api")

#: Every stable error code the API can answer with, its HTTP status and what it means.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "unauthenticated": (401, "missing or invalid credentials"),
    "bad_signature": (401, "the request signature does not verify"),
    "stale_timestamp": (401, "the request timestamp is more than 300 s off"),
    "nonce_reused": (401, "the nonce was seen before"),
    "unknown_hospital": (401, "no hospital has this code"),
    "invalid_code": (401, "the login code is wrong, expired, used or out of attempts"),
    "not_signed": (403, "the patient has not signed the current service agreement"),
    "credit_frozen": (403, "the patient's credit line is frozen by an overdue bill"),
    "suspended": (403, "the patient's credit is suspended"),
    "not_eligible": (403, "the patient is not eligible for credit medical care"),
    "forbidden": (403, "the caller may not see or do this"),
    "insufficient_credit": (402, "the charge exceeds the available credit"),
    "not_found": (404, "no such resource"),
    "patient_not_found": (404, "no insured person with this psn_no"),
    "method_not_allowed": (405, "the method is not allowed on this path"),
    "request_timeout": (408, "the request did not arrive in time; the connection is closed"),
    "visit_closed": (409, "the visit is closed"),
    "duplicate_fee": (409, "a fee line with this feedetl_sn already exists in the visit"),
    "duplicate_hospital": (409, "a hospital with this code already exists"),
    "duplicate_visit": (409, "a visit with this ipt_otp_no already exists at the hospital"),
    "bill_settled": (409, "the bill is already settled"),
    "bill_not_payable": (409, "the bill cannot be paid in its current state"),
    "split_changed": (
        409,
        "the split paying now would take differs from the one confirmed (`split_version`); "
        "the answer carries the new `setlinfo` and `split_version`",
    ),
    "already_refunded": (409, "the fee line is already refunded"),
    "idempotency_key_reused": (409, "the idempotency key was used for a different request"),
    "idempotency_key_in_use": (409, "a request with this idempotency key is still running"),
    "conflict": (409, "the request conflicts with the current state"),
    "outstanding_balance": (409, "there are bills outstanding"),
    "family_link_exists": (409, "an invitation or link to this person already exists"),
    "family_limit_reached": (409, "a family limit of the policy is reached"),
    "version_mismatch": (409, "the agreement version is not the one in force"),
    "body_too_large": (413, "the request body is larger than the service accepts"),
    "validation_error": (422, "the request is malformed"),
    "not_accepted": (422, "the service agreement must be accepted (accept: true) to sign"),
    "unknown_fee_line": (422, "the feedetl_sn is not a billed line of this bill"),
    "amount_mismatch": (422, "det_item_fee_sumamt is not pric × cnt rounded half-up to the fen"),
    "idempotency_key_missing": (422, "the Idempotency-Key header is required"),
    "identity_mismatch": (422, "the identity does not match the insurance record"),
    "invalid_certno": (422, "the resident ID number is malformed or its check character is wrong"),
    "rate_limited": (429, "too many requests"),
    "headers_too_large": (431, "the request line and headers are larger than the service accepts"),
    "credit_report_unavailable": (503, "the credit platform has no record of this person"),
    "insurance_platform_unavailable": (
        503,
        "the insurance platform did not answer; retry: a movement it may have made is resolved "
        "by its key, never made twice",
    ),
    "database_unreachable": (503, "the database does not answer; retry the request"),
    "not_ready": (503, "the process cannot serve yet; the answer's checks say why"),
    "internal_error": (500, "unexpected server error"),
}


def status_for(code: str) -> int:
    return ERROR_CODES.get(code, (400, ""))[0]


class ApiError(Exception):
    """An HTTP-level refusal raised by the API layer itself (authentication, idempotency, …)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else status_for(code)
        self.details = details


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, **details),
        status_code=status,
        headers=dict(headers) if headers else None,
    )


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


def validation_details(errors: list[Any]) -> list[dict[str, str]]:
    return [
        {"path": _error_path(e), "message": _error_message(e), "type": e["type"]} for e in errors
    ]


def _error_message(error: Any) -> str:
    message = str(error.get("msg", ""))
    # A body that is not JSON (or JSON refused by api.exact_json): say what the parser said.
    reason = (error.get("ctx") or {}).get("error")
    if error["type"] == "json_invalid" and reason:
        return f"{message}: {reason}"
    return message


def _error_path(error: Any) -> str:
    # A body that is not JSON: its location ends with the offset where parsing stopped.
    if error["type"] == "json_invalid":
        return "body"
    return _field_path(error.get("loc", ()))


#: The refusals a use case may raise; anything else is a defect (500).
Refusal = ServiceError | ApiError | CreditServiceError


def refusal_answer(refusal: Refusal) -> tuple[int, dict[str, Any]]:
    """The HTTP status and envelope for a business or API refusal."""
    status = refusal.status if isinstance(refusal, ApiError) else status_for(refusal.code)
    details = jsonable_encoder(refusal.details)
    return status, error_body(refusal.code, refusal.message, **details)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = validation_details(list(exc.errors()))
        first = fields[0] if fields else {"path": "body", "message": "invalid"}
        return error_response(
            422,
            "validation_error",
            f"{first['path']}: {first['message']}",
            fields=fields,
        )

    async def _refusal(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError | ApiError | CreditServiceError)
        status, body = refusal_answer(exc)
        wait = body["error"].get("retry_after")
        headers = {"Retry-After": str(wait)} if status == 429 and wait is not None else None
        return JSONResponse(body, status_code=status, headers=headers)

    for refusal_type in (ServiceError, ApiError, CreditServiceError):
        app.add_exception_handler(refusal_type, _refusal)

    @app.exception_handler(MoneyError)
    async def _money_error(_: Request, exc: MoneyError) -> JSONResponse:
        return error_response(422, "validation_error", str(exc), fields=[])

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot decode (not UTF-8, not JSON).
            return error_response(
                422,
                "validation_error",
                "the body is not valid UTF-8 JSON",
                fields=[{"path": "body", "message": str(exc.detail), "type": "json_invalid"}],
            )
        code = {
            401: "unauthenticated",
            404: "not_found",
            405: "method_not_allowed",
            408: "request_timeout",
            413: "body_too_large",
        }.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, message, headers=exc.headers)

    async def _database_error(_: Request, exc: Exception) -> JSONResponse:
        if not database_unreachable(exc):
            logger.exception("unhandled database error: %s", _database_error_name(exc))
            return error_response(500, "internal_error", "unexpected server error")
        return unreachable_answer(exc)

    for database_error in (DBAPIError, PoolTimeoutError):
        app.add_exception_handler(database_error, _database_error)

    app.add_middleware(AnswerUnexpectedErrors)


#: SQLSTATEs that say the database cannot be reached or will not take a connection now: the
#: connection exceptions (class 08), a server shutting down or starting (57P01-57P03), too many
#: connections, a database that does not exist (renamed or dropped).
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "3D000")
#: SQLite's: the file is locked by another writer past the busy timeout, or cannot be opened.
UNREACHABLE_SQLITE_ERRORS = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN"})


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` is the database (or a connection to it) failing, not a defect."""
    if isinstance(error, PoolTimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:  # a pooled connection died; the pool is renewed
        return True
    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    sqlite_error = getattr(original, "sqlite_errorname", None)
    if sqlite_error is not None:
        return sqlite_error in UNREACHABLE_SQLITE_ERRORS
    state = getattr(original, "sqlstate", None)
    # No statement: it failed while connecting. No SQLSTATE: the server never answered.
    return error.statement is None or state is None or state.startswith(UNREACHABLE_SQLSTATES)


def _database_error_name(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    state = getattr(original, "sqlstate", None)
    return type(original).__name__ + (f" (SQLSTATE {state})" if state else "")


def unreachable_answer(error: BaseException) -> JSONResponse:
    """``503 database_unreachable`` with ``Retry-After``, logged in one line (no traceback:
    under an outage every request fails alike, and the cause is the database, not the code).

    The failed attempt changed nothing (its transaction never committed), and the pool renews
    a dead connection (``settlement.foundation.db.make_engine``), so a retry under the same
    ``Idempotency-Key`` is safe and, once the database answers, goes through.
    """
    logger.warning("database unreachable: %s; answered 503", _database_error_name(error))
    return error_response(
        503,
        "database_unreachable",
        "the database does not answer; retry the request with the same Idempotency-Key",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


#: What a 503 ``database_unreachable`` asks the client to wait before retrying.
DATABASE_RETRY_AFTER_SECONDS = 1


class AnswerUnexpectedErrors:
    """A defect is answered ``500 internal_error``, logged once, and the connection kept.

    Why a middleware and not an exception handler for ``Exception``: Starlette answers those in
    its outermost layer and then raises the error again to the server, which logs it a second
    time and, the answer being sent, closes the keep-alive connection without saying so, so the
    client's next request on it fails too. Here the error stops once answered.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = complete = False

        async def tracked_send(message: Message) -> None:
            nonlocal started, complete
            started = started or message["type"] == "http.response.start"
            complete = complete or (
                message["type"] == "http.response.body" and not message.get("more_body", False)
            )
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as error:
            unreachable = database_unreachable(error)
            if started and not complete:  # half an answer is out: only closing the connection
                raise  # can end it
            if unreachable:
                answer = unreachable_answer(error)
            else:
                logger.error("unhandled error: %s", type(error).__name__, exc_info=error)
                answer = error_response(500, "internal_error", "unexpected server error")
            if not started:
                await answer(scope, receive, send)
            # Complete already: a background task failed after the answer; logged, and the
            # connection is left alone.
