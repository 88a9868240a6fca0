"""The API skeleton: envelope for every error, strict bodies, health, OpenAPI, idempotency."""

import threading
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from api.app import create_app
from api.idempotency import IdempotencyDep
from settlement.bootstrap import bootstrap
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.config import Settings
from settlement.foundation.errors import ServiceError

probe_metadata = MetaData()
probe = Table(
    "api_probe", probe_metadata, Column("id", Integer, primary_key=True), Column("v", String(40))
)


class ProbeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: str
    n: int = 0


def build_client(engine, calls: list[str] | None = None, gate: threading.Event | None = None):
    probe_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(probe.delete())
    container = bootstrap(
        Settings(database_url="sqlite://"),
        engine=engine,
        clock=AdjustableClock(frozen_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),
    )
    app = create_app(container)
    router = APIRouter()

    @router.post("/probe", status_code=201)
    def write(body: ProbeCreate, idem: IdempotencyDep):
        def action(uow):
            if calls is not None:
                calls.append(body.v)
            if gate is not None:
                gate.wait(5)
            uow.session.execute(insert(probe).values(v=body.v))
            if body.v == "refuse":  # after a write: a refusal must undo it
                raise ServiceError("conflict", "refused on purpose", hint="x")
            return 201, {
                "v": body.v,
                "rows": uow.session.scalar(select(func.count()).select_from(probe)),
            }

        return idem.run(scope="test", action=action)

    app.include_router(router)
    return TestClient(app), container


def rows(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(probe))


def test_health_says_the_database_answers(engine):
    client, _ = build_client(engine)
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_openapi_document_is_served(engine):
    client, _ = build_client(engine)
    assert client.get("/openapi.json").json()["info"]["title"] == "Shuxin settlement API"


def test_an_unknown_path_answers_in_the_error_envelope(engine):
    client, _ = build_client(engine)
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_fields_and_wrong_types_are_422_with_field_paths(engine):
    client, _ = build_client(engine)
    response = client.post("/probe", json={"v": "a", "extra": 1}, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["path"] for f in error["fields"]] == ["extra"]
    response = client.post("/probe", json={"v": ["a"], "n": {}}, headers={"Idempotency-Key": "k1"})
    assert sorted(f["path"] for f in response.json()["error"]["fields"]) == ["n", "v"]
    assert rows(engine) == 0


def test_a_body_that_is_not_utf8_json_is_422(engine):
    client, _ = build_client(engine)
    response = client.post(
        "/probe",
        content=b'{"v": "\xff\xfe"}',
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("key", [None, "", "x" * 65, "has space", "tab\tkey"])
def test_a_write_without_a_valid_idempotency_key_is_refused(engine, key):
    client, _ = build_client(engine)
    headers = {} if key is None else {"Idempotency-Key": key}
    response = client.post("/probe", json={"v": "a"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "header.Idempotency-Key"
    assert rows(engine) == 0


def test_a_retry_returns_the_first_answer_and_changes_nothing(engine):
    calls: list[str] = []
    client, _ = build_client(engine, calls)
    first = client.post("/probe", json={"v": "a"}, headers={"Idempotency-Key": "k1"})
    again = client.post(
        "/probe",
        content=b'{ "v" : "a" }',
        headers={"Idempotency-Key": "k1", "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert calls == ["a"]
    assert rows(engine) == 1


@pytest.mark.postgres
def test_the_same_key_refused_concurrently_gives_one_answer_and_writes_nothing(
    engine, postgres_only
):
    calls: list[str] = []
    gate = threading.Event()
    client, _ = build_client(engine, calls, gate)
    answers = []

    def send():
        answers.append(
            client.post("/probe", json={"v": "refuse"}, headers={"Idempotency-Key": "same"})
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    while not calls:
        threading.Event().wait(0.01)
    threading.Event().wait(0.2)
    gate.set()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [409] * 8
    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert rows(engine) == 0


def test_the_same_key_with_a_different_request_is_409(engine):
    client, _ = build_client(engine)
    client.post("/probe", json={"v": "a"}, headers={"Idempotency-Key": "k1"})
    response = client.post("/probe", json={"v": "b"}, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert rows(engine) == 1


def test_a_refusal_is_stored_and_replayed_without_running_again(engine):
    calls: list[str] = []
    client, _ = build_client(engine, calls)
    first = client.post("/probe", json={"v": "refuse"}, headers={"Idempotency-Key": "r"})
    again = client.post("/probe", json={"v": "refuse"}, headers={"Idempotency-Key": "r"})
    assert first.status_code == again.status_code == 409
    assert (
        again.json()
        == first.json()
        == {"error": {"code": "conflict", "message": "refused on purpose", "hint": "x"}}
    )
    assert calls == ["refuse"]
    assert rows(engine) == 0


@pytest.mark.postgres
def test_the_same_key_sent_concurrently_executes_once(engine, postgres_only):
    calls: list[str] = []
    gate = threading.Event()
    client, _ = build_client(engine, calls, gate)
    answers = []

    def send():
        answers.append(client.post("/probe", json={"v": "a"}, headers={"Idempotency-Key": "same"}))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    while not calls:
        threading.Event().wait(0.01)
    threading.Event().wait(0.2)  # let the others reach the claim and block on it
    gate.set()
    for thread in threads:
        thread.join()
    assert calls == ["a"]
    assert [a.status_code for a in answers] == [201] * 8
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert rows(engine) == 1


def test_sync_routes_run_on_as_many_threads_as_the_setting_allows(engine):
    from anyio import to_thread

    container = bootstrap(Settings(database_url="sqlite://", api_threads=3), engine=engine)
    app = create_app(container)

    @app.get("/probe-threads")
    async def probe_threads() -> dict[str, float]:
        # Read in the serving event loop, whose pool runs the sync routes.
        return {"tokens": to_thread.current_default_thread_limiter().total_tokens}

    with TestClient(app) as client:  # the lifespan sizes the pool
        assert client.get("/probe-threads").json() == {"tokens": 3}


def test_the_thread_pool_setting_is_bounded():
    with pytest.raises(ValueError, match="api_threads"):
        Settings(api_threads=0)
    with pytest.raises(ValueError, match="api_threads"):
        Settings(api_threads=65)


@pytest.mark.postgres
def test_a_lost_database_connection_is_a_503_to_retry_and_the_retry_works(postgres_only):
    from sqlalchemy import text

    engine = postgres_only.make_engine(pool_size=1, max_overflow=0)
    try:
        container = bootstrap(Settings(database_url="sqlite://"), engine=engine)
        app = create_app(container)

        @app.get("/probe-db")
        def probe_db() -> dict[str, int]:
            with container.uow() as uow:
                return {"pid": uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()}

        client = TestClient(app)
        pid = client.get("/probe-db").json()["pid"]
        with postgres_only.engine.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        lost = client.get("/probe-db")
        assert lost.status_code == 503
        assert lost.json()["error"]["code"] == "database_unreachable"
        assert lost.headers["Retry-After"] == "1"
        retried = client.get("/probe-db")
        assert retried.status_code == 200
        assert retried.json()["pid"] != pid
    finally:
        engine.dispose()
