"""Counting a test's SQL statements the way the benchmarks count them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.bench.support.statements import StatementLog, count_engine, stop_counting_psycopg


@pytest.fixture
def statement_log(engine: Engine) -> Iterator[StatementLog]:
    """This process's statement log, counting ``engine``'s statements for the test's length."""
    log = count_engine(engine)
    yield log
    if engine.dialect.name == "postgresql":
        stop_counting_psycopg()
