"""Liveness and readiness, as a load balancer reads them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from settlement.foundation.db import make_engine
from settlement.migrate import code_heads
from settlement.scheduler.leader import leadership_for
from tests.database import forget_schema_revision, record_schema_revision
from tests.harness import Service, build_service


@pytest.fixture
def stamped(engine: Engine) -> Iterator[Engine]:
    """The test database, its schema recorded as the code's head (as ``shuxin migrate`` does)."""
    record_schema_revision(engine, code_heads()[0])
    yield engine
    forget_schema_revision(engine)


@pytest.fixture
def service(stamped: Engine) -> Service:
    return build_service(stamped)


def test_live_answers_without_reading_anything():
    broken = build_service(
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing"), catalogue=False
    )
    assert broken.client.get("/health/live").json() == {"status": "alive"}
    assert broken.client.get("/health/live").status_code == 200


def test_ready_when_the_database_answers_its_schema_is_current_and_a_scheduler_leads(service):
    leadership = leadership_for(service.container)
    assert leadership.try_lead()
    try:
        response = service.client.get("/health/ready")
    finally:
        leadership.release()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "scheduler": True,
    }
    assert code_heads()[0] in body["checks"]["migrations"]["detail"]


def test_not_ready_while_no_scheduler_has_led(service):
    response = service.client.get("/health/ready")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["message"] == "not ready: scheduler"
    assert error["checks"]["scheduler"]["ok"] is False
    assert error["checks"]["database"]["ok"] is True


def test_a_leader_hand_over_keeps_the_process_ready_for_the_grace_then_not(service):
    leadership = leadership_for(service.container)
    assert leadership.try_lead()
    assert service.client.get("/health/ready").status_code == 200
    leadership.release()  # the leader is gone; no follower has taken over yet
    during = service.client.get("/health/ready")
    assert during.status_code == 200
    assert "grace" in during.json()["checks"]["scheduler"]["detail"]
    sightings = service.client.app.state.leader_sightings  # type: ignore[attr-defined]
    sightings.last_seen = time.monotonic() - 3 * 60 * 60
    assert service.client.get("/health/ready").status_code == 503


def test_a_scheduler_leading_from_another_process_counts(service, engine):
    """The lead is read from the database (the lock or the lease), not from this process."""
    other = build_service(engine)  # another process's container: its own engine use, no app
    leadership = leadership_for(other.container)
    assert leadership.try_lead()
    try:
        assert service.client.get("/health/ready").status_code == 200
    finally:
        leadership.release()


def test_not_ready_when_the_schema_is_behind_the_code(engine):
    record_schema_revision(engine, "0000_older")
    try:
        service = build_service(engine)
        response = service.client.get("/health/ready")
    finally:
        forget_schema_revision(engine)
    assert response.status_code == 503
    checks = response.json()["error"]["checks"]
    assert checks["migrations"]["ok"] is False
    assert "0000_older" in checks["migrations"]["detail"]
    assert "shuxin migrate" in checks["migrations"]["detail"]


def test_not_ready_on_a_database_never_migrated(engine):
    response = build_service(engine).client.get("/health/ready")
    assert response.status_code == 503
    assert "(none)" in response.json()["error"]["checks"]["migrations"]["detail"]


def test_not_ready_when_the_database_does_not_answer():
    broken = build_service(
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing"), catalogue=False
    )
    response = broken.client.get("/health/ready")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["message"] == "not ready: database, migrations, scheduler"
    assert error["checks"]["database"]["ok"] is False
