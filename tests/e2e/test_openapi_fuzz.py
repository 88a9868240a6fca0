"""A property-based run of the OpenAPI document (schemathesis): no 5xx, answers match their schemas.

Short inside the suite (``SHUXIN_FUZZ_EXAMPLES``, default 8 per operation); the documented longer
run is ``SHUXIN_FUZZ_EXAMPLES=200 python -m pytest tests/e2e/test_openapi_fuzz.py``.
Every request is signed as a real hospital and carries a patient's or the administrator's token,
so the generated cases reach the handlers instead of stopping at authentication.
"""

from __future__ import annotations

import json
import os
import uuid
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from settlement.access.signing import new_nonce, sign_request
from tests.harness import ADMIN_TOKEN, build_service

EXAMPLES = int(os.environ.get("SHUXIN_FUZZ_EXAMPLES", "8"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def fuzz_target(engine):
    service = build_service(engine)
    his = service.add_hospital("HFUZZ", level=2)
    person, _ = service.enrol()
    token = None
    login = getattr(service, "login", None)
    if login is not None:
        token = login(person)["Authorization"]
    return service, his, token


@pytest.fixture
def api_schema(fuzz_target):
    service, _, _ = fuzz_target
    return schemathesis.openapi.from_asgi("/openapi.json", service.client.app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_without_5xx_and_as_documented(case, fuzz_target):
    service, his, patient_token = fuzz_target
    path = quote(case.formatted_path, safe="/:@!$'()*+,;=-._~")
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    has_body = case.method != "GET" and type(case.body).__name__ != "NotSet"
    if not has_body:
        body = b""
    elif isinstance(case.body, bytes):
        body = case.body
    else:
        body = json.dumps(case.body).encode()
    # A generated header value outside ASCII (a negative case, e.g. of the Idempotency-Key's
    # pattern) goes on the wire as Latin-1 bytes, as a client would send it.
    headers: dict[str, str | bytes] = {
        k: str(v) if str(v).isascii() else str(v).encode("latin-1", "replace")
        for k, v in (case.headers or {}).items()
    }
    if path.startswith("/his/"):
        headers.update(
            sign_request(
                his.secret,
                case.method,
                path,
                body,
                int(service.clock.now().timestamp()),
                new_nonce(),
                hospital_code=his.code,
            )
        )
    elif path.startswith("/admin/"):
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif patient_token is not None and path.startswith("/v1/") and "notify" not in path:
        headers["Authorization"] = patient_token
    if case.method in ("POST", "DELETE", "PUT"):
        headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
    headers["Content-Type"] = "application/json"
    response = service.client.request(case.method, path, content=body, headers=headers)
    case.validate_response(response, checks=CHECKS)
