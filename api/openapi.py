"""The OpenAPI document: the ``responses=`` of a route, and what every operation gets besides.

A route lists the error codes of its own work (``errors``, ``bearer_errors``,
``error_responses``), each with an example of the envelope actually sent. ``install_openapi``
then completes each operation from what it is: the 401 codes of how it authenticates, 422
``validation_error`` for every call that takes parameters or a body (instead of FastAPI's
``HTTPValidationError``, a shape this service never sends), the ``Idempotency-Key`` header
(required where the contract requires it, optional elsewhere) and its 409 codes.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, get_args

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.routing import BaseRoute

from api.errors import ERROR_CODES
from api.idempotency import idempotent_write
from api.schemas.errors import ErrorEnvelope

#: The 401 codes of a signed HIS request (``api.auth.authenticate_hospital``).
HIS_AUTH_CODES = (
    "unauthenticated",
    "unknown_hospital",
    "bad_signature",
    "stale_timestamp",
    "nonce_reused",
)
#: The 401 code of a bearer token (patient or administrator).
BEARER_AUTH_CODES = ("unauthenticated",)
#: What an idempotent write can answer because of its key (``api.idempotency``).
IDEMPOTENCY_CODES = ("idempotency_key_reused", "idempotency_key_in_use")

ERROR_SCHEMA = "ErrorEnvelope"
ERROR_SCHEMA_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
#: FastAPI's own 422 schemas: the service never sends them (see ``api.errors``).
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Every answer's (``api.request_context``).
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ANSWER: dict[str, Any] = {
    "description": "The request's id, on every log line it wrote: the request's own "
    "`X-Request-ID` when it is 1–128 characters of `A-Za-z0-9._:+=/-`, else a new one",
    "schema": {"type": "string", "examples": ["7f3a9c2e4b1d4e8f9a0b1c2d3e4f5a6b"]},
}
REPLAY_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_KEY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": "^[!-~]{1,64}$",
    "examples": ["8d0f6b1e-2c4a-4f5e-9b7d-3a1c0e2f4b6d"],
}
_KEY_RULES = (
    "1–64 visible ASCII characters, unique per caller and request (a UUID is a good choice). "
    "The same key with the same request returns the first answer again, with "
    f"`{REPLAY_HEADER}: true`, and changes nothing; the same key with a different request is "
    "`409 idempotency_key_reused`, and while the first request is still running "
    "`409 idempotency_key_in_use`. Keys are kept at least 7 days."
)
IDEMPOTENCY_REQUIRED_DESCRIPTION = f"**Required.** Makes the write safe to retry: {_KEY_RULES}"
IDEMPOTENCY_OPTIONAL_DESCRIPTION = (
    "Optional. When given, the write is idempotent and safe to retry: "
    f"{_KEY_RULES} When absent, the request runs once, and a retry runs again."
)

#: What ``unauthenticated`` says, by security scheme (``api.auth``).
UNAUTHENTICATED_MESSAGES = {
    "HisSignature": "signed request headers required: X-Shuxin-Hospital, X-Shuxin-Timestamp, "
    "X-Shuxin-Nonce, X-Shuxin-Signature",
    "PatientToken": "a patient bearer token is required",
    "AdminToken": "the administrator token is required",
}
#: Examples of the answers whose message is better shown as sent, or that carry details.
_EXAMPLE_ERRORS: dict[str, dict[str, Any]] = {
    "unknown_hospital": {"message": "no hospital has this code"},
    "bad_signature": {"message": "the request signature does not verify"},
    "stale_timestamp": {
        "message": "X-Shuxin-Timestamp is more than 300 s from server time",
        "server_time": 1795397400,
    },
    "nonce_reused": {"message": "this nonce was seen before"},
    "validation_error": {
        "message": "chrg_bchno: Field required",
        "fields": [{"path": "chrg_bchno", "message": "Field required", "type": "missing"}],
    },
    "amount_mismatch": {
        "message": "fees[0].det_item_fee_sumamt is 31.00, but pric × cnt rounded half-up to the "
        "fen is 30.00",
        "fields": [
            {
                "path": "fees.0.det_item_fee_sumamt",
                "message": "expected 30.00",
                "type": "amount_mismatch",
            }
        ],
        "expected": "30.00",
    },
    "insufficient_credit": {
        "message": "the batch needs 260.00 but only 152.50 of credit is available",
        "available": "152.50",
        "requested": "260.00",
    },
    "duplicate_fee": {
        "message": "feedetl_sn F0001 is already in visit MD20261123A1B2C3D4E5F6",
        "feedetl_sn": "F0001",
        "index": 0,
    },
    "not_found": {"message": "no visit MD20261123A1B2C3D4E5F6 at this hospital"},
    "split_changed": {
        "message": "the split changed since it was shown (a balance moved); confirm the new split",
        "split_version": "4f1c2a9be07d3c55",
        "setlinfo": {
            "medfee_sumamt": "194.00",
            "hifp_pay": "0.00",
            "acct_pay": "60.00",
            "acct_mulaid_pay": "0.00",
            "psn_cash_pay": "134.00",
        },
    },
    "patient_not_found": {"message": "no insured person 37140000000000000001"},
    "visit_closed": {"message": "visit MD20261123A1B2C3D4E5F6 is closed"},
    "idempotency_key_reused": {
        "message": "this Idempotency-Key was already used for a different request"
    },
    "idempotency_key_in_use": {"message": "a request with this Idempotency-Key is still running"},
    "rate_limited": {"message": "too many codes for this phone; retry in 42 s", "retry_after": 42},
    "invalid_code": {"message": "the code is wrong, expired or used", "attempts_left": 3},
}


def error_example(code: str) -> dict[str, Any]:
    """An example of the envelope sent for ``code``."""
    example = {"message": ERROR_CODES[code][1], **_EXAMPLE_ERRORS.get(code, {})}
    return {"error": {"code": code, **example}}


def _example_entry(code: str, value: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"summary": ERROR_CODES[code][1], "value": value or error_example(code)}


def error_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` grouping ``codes`` by HTTP status, each with its meaning and an
    example of the envelope sent."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    return {
        status: {
            "description": "; ".join(f"`{c}`: {ERROR_CODES[c][1]}" for c in listed),
            "model": ErrorEnvelope,
            "content": {"application/json": {"examples": {c: _example_entry(c) for c in listed}}},
        }
        for status, listed in sorted(by_status.items())
    }


def errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an HIS call: the signature's 401 codes and ``codes``."""
    return error_responses(*HIS_AUTH_CODES, *codes)


def bearer_errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a bearer-token call: 401 ``unauthenticated`` and ``codes``."""
    return error_responses(*BEARER_AUTH_CODES, *codes)


def example_response(example: Any, description: str | None = None) -> dict[str, Any]:
    """A success answer's example (``responses={201: example_response(...)}``); the schema
    is the route's ``response_model``."""
    answer: dict[str, Any] = {"content": {"application/json": {"example": example}}}
    if description is not None:
        answer["description"] = description
    return answer


# -- the whole document -------------------------------------------------------------------------


def install_openapi(app: FastAPI) -> None:
    """Serve the document FastAPI builds, its examples restored (:func:`restore_examples`) and
    completed (:func:`complete_document`)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's, cached until the routes change
        if not completed or completed[0] is not document:
            restore_examples(document, app.routes)
            complete_document(document, key_required=key_required_operations(app.routes))
            completed[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def restore_examples(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Put back the examples as written: FastAPI drops every ``null`` from the document it
    builds (``exclude_none``), examples included, so an example of a field that is ``null``
    (``bill_id`` of an open visit, ``setl_id`` before settlement) would lose the field."""
    models: dict[str, type[BaseModel]] = {}
    for route in _api_routes(routes):
        if not route.include_in_schema:
            continue
        fields = [route.body_field, route.response_field, *route.response_fields.values()]
        for field in fields:
            if field is not None:
                models.update((model.__name__, model) for model in _models(field.field_info))
        _restore_route_examples(document, route)
    schemas = document.get("components", {}).get("schemas", {})
    for model in models.values():
        written = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, schema in {model.__name__: written, **written.get("$defs", {})}.items():
            for documented_name in (name, f"{name}-Input", f"{name}-Output"):
                if documented_name in schemas and "examples" in schema:
                    schemas[documented_name]["examples"] = schema["examples"]


def _restore_route_examples(document: dict[str, Any], route: Any) -> None:
    for method in route.methods:
        operation = document["paths"].get(route.path_format, {}).get(method.lower())
        if operation is None:
            continue
        for status, response in route.responses.items():
            documented = operation["responses"].get(str(status), {})
            _restore_media_examples(documented, response)
        extra = (route.openapi_extra or {}).get("requestBody")
        if extra is not None and "requestBody" in operation:
            _restore_media_examples(operation["requestBody"], extra)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """The API routes, those of included routers too, as FastAPI documents them (through
    ``iter_route_contexts`` where FastAPI keeps included routers apart)."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        yield from (route for route in routes if isinstance(route, APIRoute))
        return
    for context in contexts(routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _models(field_info: FieldInfo) -> Iterator[type[BaseModel]]:
    pending: list[Any] = [field_info.annotation]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield annotation
        pending.extend(get_args(annotation))


def _restore_media_examples(documented: dict[str, Any], written: dict[str, Any]) -> None:
    for media_type, media in written.get("content", {}).items():
        target = documented.get("content", {}).get(media_type)
        if target is None:
            continue
        for key in ("example", "examples"):
            if key in media:
                target[key] = copy.deepcopy(media[key])


def key_required_operations(routes: Sequence[BaseRoute]) -> set[tuple[str, str]]:
    """The operations (method, path) whose Idempotency-Key is required, read off the routes:
    those that depend on :func:`api.idempotency.idempotent_write` (the others' is optional)."""
    required: set[tuple[str, str]] = set()
    for route in _api_routes(routes):
        if _depends_on(route.dependant, idempotent_write):
            required.update((method.lower(), route.path_format) for method in route.methods)
    return required


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def complete_document(document: dict[str, Any], *, key_required: set[tuple[str, str]]) -> None:
    """Complete every operation in place (see the module's docstring)."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            _complete_operation(method, path, operation, (method, path) in key_required)
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[REQUEST_ID_HEADER] = REQUEST_ID_ANSWER
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if ERROR_SCHEMA not in schemas:
        _add_model_schema(schemas, ErrorEnvelope)
    for name in FASTAPI_VALIDATION_SCHEMAS:
        if f'"#/components/schemas/{name}"' not in json.dumps(document):
            schemas.pop(name, None)


def _complete_operation(
    method: str, path: str, operation: dict[str, Any], key_required: bool
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    codes: list[str] = []
    if "HisSignature" in schemes:
        codes += HIS_AUTH_CODES
    if schemes & {"PatientToken", "AdminToken"}:
        codes += BEARER_AUTH_CODES
    if operation.get("parameters") or "requestBody" in operation:
        codes.append("validation_error")
    if "requestBody" in operation:
        codes.append("body_too_large")  # api.limits: SHUXIN_MAX_BODY_BYTES
    codes += _complete_idempotency_key(operation, responses, key_required)
    for code in codes:
        _list_code(responses, code)
    for status, response in responses.items():
        if status[0] in "45":
            _complete_error_response(status, response, operation, schemes)


def _complete_idempotency_key(
    operation: dict[str, Any], responses: dict[str, Any], key_required: bool
) -> list[str]:
    """Describe the operation's Idempotency-Key and the replay header; the codes it can answer."""
    key = next(
        (p for p in operation.get("parameters", []) if p["name"] == IDEMPOTENCY_HEADER), None
    )
    if key is None:
        return []
    key.update(
        required=key_required,
        schema=dict(IDEMPOTENCY_KEY_SCHEMA),
        description=IDEMPOTENCY_REQUIRED_DESCRIPTION
        if key_required
        else IDEMPOTENCY_OPTIONAL_DESCRIPTION,
    )
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {})[REPLAY_HEADER] = {
                "description": "`true` when this is the stored answer of an earlier "
                "request with the same Idempotency-Key",
                "schema": {"type": "string", "enum": ["true"]},
            }
    return list(IDEMPOTENCY_CODES)


def _list_code(responses: dict[str, Any], code: str) -> None:
    """Make sure ``code`` is in its status's description."""
    response = responses.setdefault(str(ERROR_CODES[code][0]), {"description": ""})
    description = response.get("description", "")
    if description in ("", "Validation Error"):  # FastAPI's own 422 text
        description = ""
    if f"`{code}`" not in description:
        listed = f"`{code}`: {ERROR_CODES[code][1]}"
        description = f"{description}; {listed}" if description else listed
    response["description"] = description


def _complete_error_response(
    status: str, response: dict[str, Any], operation: dict[str, Any], schemes: set[str]
) -> None:
    """The envelope's schema, and an example of each code the description lists."""
    content = response.setdefault("content", {}).setdefault("application/json", {})
    schema = content.get("schema")
    if schema is None or schema.get("$ref", "").rsplit("/", 1)[-1] in FASTAPI_VALIDATION_SCHEMAS:
        content["schema"] = schema = dict(ERROR_SCHEMA_REF)
    if schema != ERROR_SCHEMA_REF:
        return  # a documented answer of another shape (a wallet callback's)
    listed = [
        code
        for code in re.findall(r"`([a-z_]+)`", response.get("description", ""))
        if code in ERROR_CODES and str(ERROR_CODES[code][0]) == status
    ]
    examples: dict[str, Any] = content.setdefault("examples", {})
    single = content.pop("example", None)
    if single is not None:
        code = single["error"]["code"]
        examples[code] = _example_entry(code, single)
    for code in dict.fromkeys(listed):
        examples.setdefault(code, _example_entry(code))
    if "validation_error" in examples:
        examples["validation_error"] = _example_entry(
            "validation_error", _validation_example(operation)
        )
    for scheme, message in UNAUTHENTICATED_MESSAGES.items():
        if scheme in schemes and "unauthenticated" in examples:
            examples["unauthenticated"]["value"] = {
                "error": {"code": "unauthenticated", "message": message}
            }


def _validation_example(operation: dict[str, Any]) -> dict[str, Any]:
    """A ``validation_error`` this operation can really answer with."""
    field = None
    for parameter in operation.get("parameters", []):
        if parameter["name"] == IDEMPOTENCY_HEADER and parameter.get("required"):
            field = (
                "header Idempotency-Key is required",
                {"path": "header.Idempotency-Key", "message": "is required", "type": "idempotency"},
            )
            break
        if parameter["in"] == "query" and parameter.get("required"):
            field = _field(f"query.{parameter['name']}", "Field required", "missing")
            break
        maximum = parameter.get("schema", {}).get("maxLength")
        if parameter["in"] == "path" and maximum is not None and field is None:
            field = _field(
                f"path.{parameter['name']}",
                f"String should have at most {maximum} characters",
                "string_too_long",
            )
    if field is None and "requestBody" in operation:
        field = _field("body", "Field required", "missing")
    if field is None:
        return error_example("validation_error")
    message, detail = field
    return {"error": {"code": "validation_error", "message": message, "fields": [detail]}}


def _field(path: str, message: str, kind: str) -> tuple[str, dict[str, str]]:
    return f"{path}: {message}", {"path": path, "message": message, "type": kind}


def _add_model_schema(schemas: dict[str, Any], model: type[ErrorEnvelope]) -> None:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
