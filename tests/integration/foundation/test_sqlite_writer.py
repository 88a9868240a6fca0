"""SQLite's writers queue in the process (settlement.foundation.db) instead of polling SQLite's busy handler."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, event, func, insert, select, text

from settlement.foundation.db import make_engine

WAIT = 10  # seconds; only a lost or leaked lock makes a test wait this long

metadata = MetaData()
rows = Table("writer_probe", metadata, Column("id", Integer, primary_key=True))


@pytest.fixture
def sqlite(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'writer.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(rows)) or 0


def test_a_second_writer_waits_in_the_process_until_the_first_commits(sqlite):
    # With SQLite's own waiting off, a writer that reached SQLite while another holds its write
    # lock would fail at once ("database is locked"): this one queues in the process instead.
    event.listen(sqlite, "connect", _no_busy_wait)
    sqlite.dispose()
    first_in = threading.Event()
    first_may_commit = threading.Event()
    second_done = threading.Event()

    def first() -> None:
        with sqlite.begin() as connection:
            connection.execute(insert(rows).values(id=1))
            first_in.set()
            assert first_may_commit.wait(WAIT)

    def second() -> None:
        assert first_in.wait(WAIT)
        with sqlite.begin() as connection:
            # It sees the first writer's row: it began only after that one committed.
            assert connection.scalar(select(func.count()).select_from(rows)) == 1
            connection.execute(insert(rows).values(id=2))
        second_done.set()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(first), pool.submit(second)]
        assert first_in.wait(WAIT)
        assert not second_done.wait(0.3)  # queued behind the first, not failed
        first_may_commit.set()
        for future in done:
            future.result(WAIT)
    assert count(sqlite) == 2


def test_the_lock_is_let_go_after_a_commit_a_rollback_and_a_failed_statement(sqlite):
    with sqlite.begin() as connection:
        connection.execute(insert(rows).values(id=1))
    with sqlite.connect() as connection:
        connection.execute(insert(rows).values(id=2))
        connection.rollback()
    with pytest.raises(Exception, match="UNIQUE"), sqlite.begin() as connection:
        connection.execute(insert(rows).values(id=1))
    with sqlite.connect() as connection:
        connection.rollback()  # no transaction: nothing to let go, and no error
    # Each of those let the lock go: another thread can write at once.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_insert, sqlite, 3).result(WAIT)
    assert count(sqlite) == 2


def test_many_threads_writing_at_once_all_get_their_turn(sqlite):
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(_insert, sqlite, n) for n in range(1, 321)]
        for future in futures:
            future.result(WAIT)
    assert count(sqlite) == 320
    with sqlite.connect() as connection:
        assert connection.scalar(text("PRAGMA integrity_check")) == "ok"


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def _insert(engine: Engine, row_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(insert(rows).values(id=row_id))
