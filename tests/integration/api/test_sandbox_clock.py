"""The sandbox's test clock moves business time only, for every process, across restarts
(issue 16, items 12 and 13; Stripe's test clocks are the model).

These services are built as ``shuxin serve`` builds one in sandbox mode: business time is the
clock stored in the database, and authentication keeps the wall clock. The HIS signs with the
wall clock, as an integrator's own code does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from settlement.access.hospitals import create_hospital
from settlement.bootstrap import Container, bootstrap
from settlement.foundation.clock import SystemClock
from settlement.foundation.config import Settings
from settlement.foundation.db import make_engine
from settlement.foundation.sandbox_clock import DatabaseClock
from settlement.scheduler import run_due
from tests.harness import ADMIN_TOKEN, SECRET_KEY, TEST_CLIENT_LIMITS, HisClient, Service
from tests.log_scan import remember

HOURS_73 = timedelta(hours=73)


def sandbox(engine: Engine) -> Container:
    settings = Settings(
        database_url="sqlite://",
        admin_token=ADMIN_TOKEN,
        secret_key=SECRET_KEY,
        mode="sandbox",
        **TEST_CLIENT_LIMITS,  # type: ignore[arg-type]
    )
    return bootstrap(settings, engine=engine)


def his_of(container: Container, client: TestClient) -> HisClient:
    with container.uow() as uow:
        _, secret = create_hospital(
            uow.session,
            code="HCLOCK",
            name="测试医院",
            level=3,
            secret_key=SECRET_KEY,
            clock=container.clock,
        )
        uow.commit()
    remember(secret)
    return HisClient(client, "HCLOCK", secret, container.real_clock)  # type: ignore[arg-type]


def another_engine(engine: Engine, postgres_database) -> Engine:
    """A second pool on the same database, as another process has."""
    if postgres_database is not None:
        return postgres_database.make_engine()
    return make_engine(engine.url.render_as_string(hide_password=False))


def close_to(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(seconds=5)


def test_after_advancing_a_request_signed_with_the_integrators_own_clock_is_accepted(engine):
    container = sandbox(engine)
    assert isinstance(container.clock, DatabaseClock)
    assert isinstance(container.real_clock, SystemClock)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    his = his_of(container, client)

    moved = client.post("/sandbox/v1/clock/advance", json={"hours": 73})
    assert moved.status_code == 200, moved.text

    person = Service(container=container, client=client, clock=container.clock).add_person()

    answer = his.get(f"/his/v1/patients/{person.psn_no}/credit")

    assert answer.status_code == 200, answer.text  # was 401 stale_timestamp
    assert answer.json()["status"] == "not_signed"


def test_the_clock_tells_business_time_beside_the_wall_clock(engine):
    container = sandbox(engine)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    before = client.get("/sandbox/v1/clock").json()
    assert before["advanced_seconds"] == 0
    client.post("/sandbox/v1/clock/advance", json={"hours": 73})

    told = client.get("/sandbox/v1/clock")

    assert told.status_code == 200, told.text
    body = told.json()
    assert body["advanced_seconds"] == 73 * 3600
    real = datetime.fromisoformat(body["real_time"])
    assert close_to(real, datetime.now(UTC))
    assert close_to(datetime.fromisoformat(body["now"]), real + HOURS_73)


def test_another_process_on_the_same_database_sees_the_advanced_clock(engine, postgres_database):
    first = sandbox(engine)
    second_engine = another_engine(engine, postgres_database)
    try:
        second = sandbox(second_engine)
        assert close_to(second.clock.now(), datetime.now(UTC))  # read before it moves

        TestClient(create_app(first)).post("/sandbox/v1/clock/advance", json={"hours": 73})
        second.clock = DatabaseClock(second_engine, refresh_seconds=0)  # no wait for the refresh

        assert close_to(second.clock.now(), datetime.now(UTC) + HOURS_73)
        assert close_to(run_due(second).now, datetime.now(UTC) + HOURS_73)  # the scheduler too
    finally:
        second_engine.dispose()


def test_a_restart_keeps_the_advanced_clock(engine, postgres_database):
    TestClient(create_app(sandbox(engine))).post("/sandbox/v1/clock/advance", json={"hours": 73})
    restarted_engine = another_engine(engine, postgres_database)
    try:
        restarted = TestClient(create_app(sandbox(restarted_engine)))
        assert restarted.get("/sandbox/v1/clock").json()["advanced_seconds"] == 73 * 3600
    finally:
        restarted_engine.dispose()


def test_the_stored_clock_moves_only_forward(engine):
    clock = DatabaseClock(engine)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    clock.advance(timedelta(hours=1))
    clock.advance(timedelta(minutes=30))
    assert DatabaseClock(engine).offset == timedelta(hours=1, minutes=30)


def test_a_login_code_and_a_token_expire_in_real_time_not_the_test_clocks(engine):
    container = sandbox(engine)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    person = Service(container=container, client=client, clock=container.clock).add_person()
    sent = client.post("/v1/auth/otp", json={"phone": person.phone})
    assert sent.status_code == 200, sent.text
    code = sent.json()["sandbox_code"]

    # Business time moves past the code's 5 minutes (and later past the token's 30 days).
    assert client.post("/sandbox/v1/clock/advance", json={"hours": 73}).status_code == 200
    token = client.post("/v1/auth/token", json={"phone": person.phone, "code": code})
    assert token.status_code == 200, token.text  # the code is minutes old in real time
    bearer = token.json()["access_token"]
    remember(bearer)
    assert client.post("/sandbox/v1/clock/advance", json={"hours": 31 * 24}).status_code == 200

    me = client.get("/v1/me/credit", headers={"Authorization": f"Bearer {bearer}"})

    assert me.status_code == 200, me.text


def test_a_nonce_seen_before_the_advance_is_still_refused_after_it(engine):
    container = sandbox(engine)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    his = his_of(container, client)
    person = Service(container=container, client=client, clock=container.clock).add_person()
    path = f"/his/v1/patients/{person.psn_no}/credit"
    nonce = "nonce-before-the-advance-0001"
    assert his.request("GET", path, nonce=nonce).status_code == 200

    assert client.post("/sandbox/v1/clock/advance", json={"hours": 73}).status_code == 200
    # The expiry sweep forgets nonces by real time: this one is seconds old, so it is kept.
    assert client.post("/sandbox/v1/scheduler/run").status_code == 200
    replayed = his.request("GET", path, nonce=nonce)

    assert replayed.status_code == 401, replayed.text  # a replay
    assert replayed.json()["error"]["code"] == "nonce_reused"
