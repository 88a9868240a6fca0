"""``in_listed``/``listed``: a list bound as one value on PostgreSQL (a JSON array), an expanding
``IN`` elsewhere; the same rows as ``IN`` either way, and on PostgreSQL one statement text for any
number of values (what lets psycopg prepare it once)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, select

from settlement.foundation.lists import in_listed, listed
from settlement.foundation.unit_of_work import UnitOfWorkFactory

probe_metadata = MetaData()
probe = Table(
    "in_listed_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), index=True),
)
NAMES = ["P1", "P2", 'a "quoted" \\ name', "主任医师", "Ω", "P10", ""]


@pytest.fixture
def probe_uow(engine: Engine, uow_factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    probe_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(probe.delete())
        connection.execute(probe.insert(), [{"id": i, "name": n} for i, n in enumerate(NAMES)])
    return uow_factory


@pytest.fixture
def texts(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        if "in_listed_probe" in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    "wanted",
    [[], ["P1"], ["P2", "P1", "absent"], NAMES, ["P1", "P1"], ['a "quoted" \\ name', "主任医师"]],
)
def test_the_rows_are_those_in_the_list(probe_uow, engine, wanted):
    statement = select(probe.c.name).where(
        in_listed(probe.c.name, "names", postgres=engine.dialect.name == "postgresql")
    )
    with probe_uow() as uow:
        found = uow.session.execute(statement, {"names": listed(uow.session, wanted)})
        assert sorted(row.name for row in found) == sorted(set(wanted) & set(NAMES))


def test_on_postgresql_the_text_is_the_same_for_any_number_of_values(probe_uow, engine, texts):
    statement = select(probe.c.id).where(
        in_listed(probe.c.name, "names", postgres=engine.dialect.name == "postgresql")
    )
    with probe_uow() as uow:
        for wanted in (["P1"], ["P1", "P2"], NAMES):
            uow.session.execute(statement, {"names": listed(uow.session, wanted)}).all()
    assert len(texts) == 3
    if engine.dialect.name == "postgresql":
        assert len(set(texts)) == 1
