import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from settlement.unit_of_work import UnitOfWorkFactory

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
