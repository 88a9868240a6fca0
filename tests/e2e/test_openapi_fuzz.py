"""A property-based run of the OpenAPI document (schemathesis): no 5xx, answers match their schemas;
and every operation of the document sent the hostile values of issue 17 over one keep-alive
connection to a real server: no 5xx, and the connection usable after every answer.

Short inside the suite (``SHUXIN_FUZZ_EXAMPLES``, default 8 per operation; each hostile value in
one field of each operation); the documented longer run is
``SHUXIN_FUZZ_EXAMPLES=200 SHUXIN_FUZZ_HOSTILE=all python -m pytest tests/e2e/test_openapi_fuzz.py``
(every hostile value in every field).
Every request is signed as a real hospital and carries a patient's or the administrator's token,
so the generated cases reach the handlers instead of stopping at authentication.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from settlement.access.signing import new_nonce, sign_request
from settlement.migrate import code_heads
from settlement.scheduler.leader import leadership_for
from tests.database import forget_schema_revision, record_schema_revision
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
    # A service that is ready (GET /health/ready): its schema migrated and a scheduler leading.
    record_schema_revision(engine, code_heads()[0])
    service = build_service(engine)
    leadership = leadership_for(service.container)
    assert leadership.try_lead()
    his = service.add_hospital("HFUZZ", level=2)
    person, _ = service.enrol()
    token = None
    login = getattr(service, "login", None)
    if login is not None:
        token = login(person)["Authorization"]
    yield service, his, token
    leadership.release()
    forget_schema_revision(engine)


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


# -- the hostile values of issue 17, over a real server's keep-alive connection -----------------

#: What a fuzzer and an attacker sent (issue 17): each in every string, time, amount, date,
#: path and query of every operation is a 4xx at worst, and the connection stays usable.
HOSTILE_VALUES: list[object] = [
    "0",
    "1700000000",
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59-08:00",
    "1970-01-01T00:00:00+08:00",
    "１０.００",
    "1_0.00",
    "1e1",
    "+10.00",
    " 10.00",
    "10.00\n",
    "10.",
    " ",
    "a\u0000b",
    "9999-12-31",
    "0001-01-01",
    "2026-12-03T00:00:00",
    "x" * 10_000,
    1,
    -1,
    10**30,
    True,
    None,
    [],
    {},
]
HOSTILE_PATH_VALUES = [
    "%00",
    "a%00b",
    "0001-01-01",
    "9999-12-31",
    "%20",
    "x" * 300,
    "..%2F..%2Fetc",
]
HOSTILE_QUERY_VALUES = ["9999-12-31", "0001-01-01", "2026-12-03T00:00:00", "%00", "", " "]
#: Whole bodies: nested past the parser, keys twice, not JSON, NaN.
HOSTILE_BODIES = [b"[" * 50_000, b'{"a":1,"a":2}', b"\x00\xff", b'{"a":NaN}', b"1e999"]
#: Every field of every operation with every value (the long run), or one field per value
#: in turn (the suite's run).
ALL_FIELDS = os.environ.get("SHUXIN_FUZZ_HOSTILE") == "all"
#: Answers after which the server closes the connection on purpose, and says so.
CLOSING = {408, 413, 431}


@pytest.fixture
def hostile_server(engine, postgres_database, tmp_path):
    from tests.e2e.server import postgres_schema_url, seed_world, start_app_server

    world = seed_world(engine, hospitals=["HFUZZ"], patients=1)
    if postgres_database is not None:
        url = postgres_schema_url(postgres_database.url, postgres_database.schema)
    else:
        url = engine.url.render_as_string(hide_password=False)
    with start_app_server(tmp_path, database_url=url, settings=world.settings) as server:
        yield server, world


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_example(document: dict, operation: dict) -> object:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return None
    if "example" in media:
        return media["example"]
    if media.get("examples"):
        return next(iter(media["examples"].values()))["value"]
    schema = _resolve(document, media.get("schema", {}))
    return (schema.get("examples") or [{}])[0]


def _mutations(example: object) -> list[tuple[str, object]]:
    """(field path, body) for each hostile value put into each field (or one field in turn)."""
    fields: list[list[str | int]] = []
    if isinstance(example, dict):
        for key, value in example.items():
            fields.append([key])
            if isinstance(value, list) and value and isinstance(value[0], dict):
                fields += [[key, 0, inner] for inner in value[0]]
    bodies: list[tuple[str, object]] = []
    for n, hostile in enumerate(HOSTILE_VALUES):
        chosen = fields if ALL_FIELDS else fields[n % len(fields) : n % len(fields) + 1]
        for path in chosen:
            body = json.loads(json.dumps(example))
            target = body
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = hostile
            bodies.append((".".join(map(str, path)), body))
    return bodies


def _url(template: str, parameters: list[dict], values: dict[str, str], overrides: dict) -> str:
    chosen = {**values, **overrides}
    path = template
    query = []
    for p in parameters:
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", quote(chosen[p["name"]], safe="%"))
        elif p["name"] in overrides or p.get("required"):
            query.append(f"{p['name']}={quote(chosen[p['name']], safe='%')}")
    return path + ("?" + "&".join(query) if query else "")


def _hostile_requests(document: dict) -> list[tuple[str, str, bytes, str | None]]:
    """(method, path with query, body, content type) for every operation of the document."""
    requests: list[tuple[str, str, bytes, str | None]] = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            parameters = [
                p for p in operation.get("parameters", []) if p["in"] in ("path", "query")
            ]
            values = {
                p["name"]: str((p.get("schema", {}).get("examples") or [p.get("example", "X1")])[0])
                for p in parameters
            }

            url = functools.partial(_url, template, parameters, values)

            example = _body_example(document, operation)
            body = json.dumps(example).encode() if example is not None else b""
            for p in parameters:
                hostile = HOSTILE_PATH_VALUES if p["in"] == "path" else HOSTILE_QUERY_VALUES
                requests += [
                    (method.upper(), url({p["name"]: v}), body, "application/json") for v in hostile
                ]
            if example is not None:
                requests += [
                    (method.upper(), url({}), json.dumps(mutated).encode(), "application/json")
                    for _, mutated in _mutations(example)
                ]
            if method != "get":
                for raw in HOSTILE_BODIES:
                    requests += [
                        (method.upper(), url({}), raw, content_type)
                        for content_type in ("application/json", "text/plain", None)
                    ]
    return requests


def _credentials(method: str, path: str, body: str, hospital, token: str) -> dict[str, str]:
    """What a legitimate caller of ``path`` would send: so the hostile value reaches the route."""
    import time

    headers = {"Idempotency-Key": uuid.uuid4().hex}
    if path.startswith("/his/"):
        headers.update(
            sign_request(
                hospital.secret,
                method,
                path,
                body,
                int(time.time()),
                new_nonce(),
                hospital_code=hospital.code,
            )
        )
    elif path.startswith("/admin/"):
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif path.startswith("/v1/") and "notify" not in path:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def test_every_operation_answers_the_hostile_values_without_5xx_on_a_usable_connection(
    hostile_server,
):
    import http.client

    server, world = hostile_server
    hospital = world.hospitals[0]
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/openapi.json")
    document = json.loads(connection.getresponse().read())
    with world.container.uow() as uow:
        person = world.container.insurance_platform(uow.session).lookup_person(world.patients[0][0])
    connection.request(
        "POST",
        "/v1/auth/otp",
        json.dumps({"phone": person.phone}),
        {"Content-Type": "application/json"},
    )
    code = json.loads(connection.getresponse().read())["sandbox_code"]
    connection.request(
        "POST",
        "/v1/auth/token",
        json.dumps({"phone": person.phone, "code": code}),
        {"Content-Type": "application/json"},
    )
    token = json.loads(connection.getresponse().read())["access_token"]

    requests = _hostile_requests(document)
    assert len(requests) > 500  # every operation, many values
    failures = []
    for method, path, body, content_type in requests:
        headers = _credentials(method, path, body, hospital, token)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if connection.sock is None:
            connection.connect()
        used = connection.sock
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status >= 500:
            failures.append((method, path, body[:120], answer.status))
        if answer.status in CLOSING:
            assert answer.will_close, (method, path, answer.status)
            connection.close()
            continue
        if answer.will_close:
            failures.append((method, path, body[:120], "connection closed"))
            connection.close()
            continue
        connection.request("GET", "/health")
        health = connection.getresponse()
        health.read()
        if health.status != 200 or connection.sock is not used:
            failures.append((method, path, body[:120], "connection unusable afterwards"))
    assert failures == [], failures[:20]
    assert "Traceback" not in server.log()
