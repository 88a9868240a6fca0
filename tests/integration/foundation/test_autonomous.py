"""An autonomous write (an intent recorded before an outside call) never waits on its caller's pool.

Every request holding the session's connection and asking for a second one from the same pool
would, with the pool full, wait on each other until the pool's timeout: the intent of a
payment on a remote insurance platform would then fail under load with nothing wrong.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from settlement.foundation.db import autonomous
from tests.database import PostgresTestDatabase

pytestmark = [pytest.mark.postgres]


def test_an_autonomous_write_commits_while_its_callers_pool_is_exhausted(
    postgres_only: PostgresTestDatabase,
) -> None:
    engine = postgres_only.make_engine(pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))  # the pool's one connection, held
            with autonomous(session) as connection:
                written = connection.execute(text("SELECT 41 + 1")).scalar_one()
            assert written == 42
            assert engine.pool.checkedout() == 1  # the caller's, still held; nothing else
    finally:
        engine.dispose()


def test_what_an_autonomous_write_commits_stands_when_the_caller_rolls_back(
    postgres_only: PostgresTestDatabase,
) -> None:
    engine = postgres_only.make_engine(pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            with autonomous(session) as connection:
                connection.execute(text("CREATE TABLE IF NOT EXISTS autonomous_probe (n int)"))
                connection.execute(text("INSERT INTO autonomous_probe VALUES (7)"))
            session.rollback()
            assert session.execute(text("SELECT n FROM autonomous_probe")).scalars().all() == [7]
            session.execute(text("DROP TABLE autonomous_probe"))
            session.commit()
    finally:
        engine.dispose()
