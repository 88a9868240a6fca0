"""The database goes away under a running server (issue 17, item 5): every request that needs it
is answered ``503 database_unreachable`` with ``Retry-After``, each failure logged in one line
(no traceback), and once the database is back the same requests go through.

The database is a private one created for this test on the run's PostgreSQL server and made
unreachable by closing it to connections and ending its sessions (``ALLOW_CONNECTIONS false``,
``pg_terminate_backend``): other databases on the server, and other test runs, are untouched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, make_url, text

from settlement.foundation.db import make_engine
from tests.database import create_schema
from tests.e2e.server import (
    ServerProcess,
    SignedHis,
    World,
    fee_batch_body,
    seed_world,
    start_app_server,
    visit_body,
)

pytestmark = pytest.mark.postgres


class PrivateDatabase:
    """A database of its own on the test server, which the test can close and open again."""

    def __init__(self, server_url: str) -> None:
        self.name = f"shuxin_outage_{uuid.uuid4().hex[:10]}"
        base = make_url(server_url)
        self.admin = make_engine(
            base.set(database="postgres").render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
            pool_size=1,
            max_overflow=0,
        )
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def close_to_connections(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.name},
            )

    def open_to_connections(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))

    def drop(self) -> None:
        self.open_to_connections()
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture
def private_database(postgres_only: Any) -> Iterator[PrivateDatabase]:
    database = PrivateDatabase(postgres_only.url)
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture
def private_engine(private_database: PrivateDatabase) -> Iterator[Engine]:
    engine = make_engine(private_database.url, pool_size=2, max_overflow=0)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def world(private_engine: Engine) -> World:
    return seed_world(private_engine, hospitals=["HOUTAGE"], patients=1)


@pytest.fixture
def server(
    private_database: PrivateDatabase, world: World, tmp_path: Path
) -> Iterator[ServerProcess]:
    settings = {**world.settings, "SHUXIN_MODE": "production", "SHUXIN_WALLET_SECRET": "w" * 32}
    with start_app_server(tmp_path, database_url=private_database.url, settings=settings) as up:
        yield up


def test_an_unreachable_database_is_503_with_retry_after_logged_once_and_then_recovers(
    private_database, private_engine, world, server
):
    private_engine.dispose()  # the test's own connections would keep the database busy
    hospital = world.hospitals[0]
    psn_no = world.patients[0][0]
    client = httpx.Client(base_url=server.base_url, timeout=30)
    his = SignedHis(client, hospital.code, hospital.secret)
    opened = his.request("POST", "/his/v1/visits", visit_body(psn_no, "MZ-BEFORE"))
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]

    private_database.close_to_connections()
    keys = {name: uuid.uuid4().hex for name in ("visit", "fees")}
    calls = [
        lambda: his.request(
            "POST", "/his/v1/visits", visit_body(psn_no, "MZ-DURING"), key=keys["visit"]
        ),
        lambda: his.request(
            "POST",
            f"/his/v1/visits/{mdtrt_id}/fees",
            fee_batch_body("CB-DURING", 2, "10.00"),
            key=keys["fees"],
        ),
        lambda: his.request("GET", f"/his/v1/patients/{psn_no}/credit"),
        lambda: his.request("GET", f"/his/v1/visits/{mdtrt_id}"),
        lambda: client.post("/v1/auth/otp", json={"phone": "13800000000"}),
    ]
    log_before = server.log()
    failures = 0
    for _ in range(3):  # on fresh connections, on the pool's renewed ones, again
        for call in calls:
            answer = call()
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "database_unreachable"
            assert int(answer.headers["Retry-After"]) >= 1
            failures += 1
    time.sleep(0.5)
    during = server.log()[len(log_before) :]
    assert "Traceback" not in during, during
    assert during.count("database unreachable") == failures, during

    private_database.open_to_connections()
    again = his.request(
        "POST", "/his/v1/visits", visit_body(psn_no, "MZ-DURING"), key=keys["visit"]
    )
    assert again.status_code == 201, again.text
    fees = his.request(
        "POST",
        f"/his/v1/visits/{mdtrt_id}/fees",
        fee_batch_body("CB-DURING", 2, "10.00"),
        key=keys["fees"],
    )
    assert fees.status_code == 201, fees.text
