import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from settlement.foundation.unit_of_work import UnitOfWorkFactory

probe_metadata = MetaData()
probe = Table(
    "uow_probe", probe_metadata, Column("id", Integer, primary_key=True), Column("v", String(10))
)


@pytest.fixture
def probe_uow(engine, uow_factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    probe_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(probe.delete())
    return uow_factory


def count(uow_factory: UnitOfWorkFactory) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(func.count()).select_from(probe)) or 0


def test_work_is_kept_only_when_committed(probe_uow):
    with probe_uow() as uow:
        uow.session.execute(insert(probe).values(v="kept"))
        uow.commit()
    with probe_uow() as uow:
        uow.session.execute(insert(probe).values(v="dropped"))
    assert count(probe_uow) == 1


def test_an_exception_inside_the_unit_of_work_rolls_everything_back(probe_uow):
    with pytest.raises(RuntimeError), probe_uow() as uow:
        uow.session.execute(insert(probe).values(v="a"))
        uow.session.execute(insert(probe).values(v="b"))
        raise RuntimeError("half-way")
    assert count(probe_uow) == 0


def test_sqlite_connections_have_foreign_keys_and_wal(engine):
    if engine.dialect.name != "sqlite":
        return  # the PostgreSQL pass has no pragmas to check
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


@pytest.mark.postgres
def test_after_the_server_drops_every_connection_one_use_fails_and_the_next_works(postgres_only):
    """No pre-ping (a round trip per checkout): a dead pooled connection fails its first
    statement, SQLAlchemy then empties the pool, and the caller's retry gets a fresh one."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    engine = postgres_only.make_engine(pool_size=3, max_overflow=0)
    try:
        held = [engine.connect() for _ in range(3)]  # three live connections in the pool
        pids = [c.execute(text("SELECT pg_backend_pid()")).scalar() for c in held]
        for connection in held:
            connection.close()
        with postgres_only.engine.connect() as killer:
            for pid in pids:
                killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        with pytest.raises(DBAPIError) as failure, engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert failure.value.connection_invalidated
        # Every pooled connection was replaced, not only the one that failed: three at once work.
        fresh = [engine.connect() for _ in range(3)]
        try:
            assert [c.execute(text("SELECT 1")).scalar() for c in fresh] == [1, 1, 1]
        finally:
            for connection in fresh:
                connection.close()
    finally:
        engine.dispose()


def test_a_database_error_never_shows_the_statements_values(engine):
    """A logged traceback prints the error's text: an ID number in it would reach the logs."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    certno = "11010519491231002X"
    with pytest.raises(DBAPIError) as failure, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table WHERE certno = :c"), {"c": certno})
    assert certno not in str(failure.value)
    assert "no_such_table" in str(failure.value)  # the statement itself is still there to debug
