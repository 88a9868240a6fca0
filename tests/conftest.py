"""Shared fixtures: an isolated database per test on SQLite or PostgreSQL, and units of work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from settlement.foundation.config import DEFAULT_WALLET_SECRET
from settlement.foundation.db import make_engine, make_session_factory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger.verify import verify_ledger
from tests.database import (
    REQUIRE_POSTGRES_ENV,
    PostgresTestDatabase,
    SqliteTemplate,
    postgres_url,
)

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_report_header() -> str:
    url = postgres_url()
    return f"shuxin database: {'PostgreSQL ' + url if url else 'SQLite (a file per test)'}"


@pytest.fixture(scope="session", autouse=True)
def logs_of_the_whole_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every log line of the run, as the service writes them, scanned at its end
    (``tests/log_scan.py``): no ID number, phone, token, secret or signature may be in one."""
    from tests.harness import ADMIN_TOKEN, SECRET_KEY
    from tests.log_scan import capture_run, problems, remember

    remember(ADMIN_TOKEN, SECRET_KEY, DEFAULT_WALLET_SECRET)
    folder = tmp_path_factory.mktemp("logs")
    run_log = folder / "run.log"
    with capture_run(run_log) as caught:
        yield
    base = tmp_path_factory.getbasetemp()
    servers = [path for path in base.rglob("*.log") if path != run_log]
    found = problems(run_log, servers, caught)
    assert not found, "what must never be logged was:\n" + "\n".join(found[:20])


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresTestDatabase | None]:
    url = postgres_url()
    if url is None:
        if os.environ.get(REQUIRE_POSTGRES_ENV):
            pytest.fail(f"{REQUIRE_POSTGRES_ENV} is set but SHUXIN_TEST_DATABASE_URL is not")
        yield None
        return
    try:
        database = PostgresTestDatabase(url)
    except Exception as error:  # the database must be there when it is asked for
        pytest.fail(f"PostgreSQL at {url} is unreachable: {error}")
    yield database
    database.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture
def engine(
    request: pytest.FixtureRequest,
    postgres_database: PostgresTestDatabase | None,
    sqlite_template: SqliteTemplate,
) -> Iterator[Engine]:
    """A database with every table and no rows, private to this test.

    After the test, the ledger must still verify (``shuxin ledger verify``): whatever a test did
    through the code, every balance equals its transfers. Tests that corrupt the ledger on purpose
    say so with ``@pytest.mark.ledger_tampered``.
    """
    if postgres_database is not None:
        postgres_database.reset()
        engine = postgres_database.engine
    else:
        engine = make_engine(sqlite_template.fresh_url())
    yield engine
    if request.node.get_closest_marker("ledger_tampered") is None:
        with engine.connect() as connection:
            report = verify_ledger(Session(connection))
        assert report.ok, f"the ledger does not verify after this test:\n{report.render()}"
    if postgres_database is None:
        engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(make_session_factory(engine))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` only mean something there (real row locks, many connections)."""
    needs_postgres = pytest.mark.skipif(
        postgres_url() is None,
        reason="needs PostgreSQL: set SHUXIN_TEST_DATABASE_URL (the second pass of .ci/run does)",
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(needs_postgres)


@pytest.fixture
def postgres_only(postgres_database: PostgresTestDatabase | None) -> PostgresTestDatabase:
    """The run's PostgreSQL database; use with ``@pytest.mark.postgres``."""
    assert postgres_database is not None, "mark the test with @pytest.mark.postgres"
    return postgres_database


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("SHUXIN_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
