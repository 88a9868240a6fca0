"""``insert_all``: many rows in one statement store exactly what an executemany INSERT stores."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import DBAPIError

from settlement.foundation.db import insert_all
from settlement.foundation.orm import DecimalText, FenColumn, UTCDateTime
from settlement.foundation.unit_of_work import UnitOfWorkFactory

probe_metadata = MetaData()
probe = Table(
    "insert_all_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch", String(8)),
    Column("name", String(200)),
    Column("note", Text, nullable=True),
    Column("price", DecimalText, nullable=True),
    Column("fen", FenColumn),
    Column("flag", Boolean, default=False),
    Column("at", UTCDateTime),
    Column("later", UTCDateTime, nullable=True),
)

ROWS = [
    {
        "batch": "each",
        "name": "主任医师门诊诊查费",
        "note": 'a "quoted" \\ back\\slash\nnew line, \t tab, emoji 🩺, \u2028',
        "price": Decimal("3.456789"),
        "fen": 999_999_999_999,
        "flag": True,
        "at": datetime(2026, 11, 23, 9, 40, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
        "later": None,
    },
    {
        "batch": "each",
        "name": "x",
        "note": None,
        "price": Decimal("0.000000"),
        "fen": -1,
        "flag": False,
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "later": datetime(2026, 1, 4, 0, 0, 59, 1, tzinfo=UTC),
    },
    {
        "batch": "each",
        "name": "Ω",
        "note": "",
        "price": None,
        "fen": 0,
        "flag": False,
        "at": datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
        "later": None,
    },
]


@pytest.fixture
def probe_uow(engine, uow_factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    probe_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(probe.delete())
    return uow_factory


def stored(uow_factory: UnitOfWorkFactory, batch: str) -> list[tuple[object, ...]]:
    columns = [column for column in probe.c if column.name not in ("id", "batch")]
    with uow_factory() as uow:
        return [
            tuple(row)
            for row in uow.session.execute(
                select(*columns).where(probe.c.batch == batch).order_by(probe.c.id)
            )
        ]


def test_the_rows_are_stored_as_an_insert_of_each_stores_them_in_order(probe_uow):
    with probe_uow() as uow:
        uow.session.execute(probe.insert(), [{**row, "batch": "each"} for row in ROWS])
        insert_all(uow.session, probe, [{**row, "batch": "all"} for row in ROWS])
        uow.commit()

    assert stored(probe_uow, "all") == stored(probe_uow, "each")
    assert [row[0] for row in stored(probe_uow, "all")] == [row["name"] for row in ROWS]
    assert stored(probe_uow, "all")[0][2] == Decimal("3.456789")
    assert stored(probe_uow, "all")[0][5] == ROWS[0]["at"]


def test_nothing_to_insert_sends_nothing(probe_uow):
    with probe_uow() as uow:
        insert_all(uow.session, probe, [])
        uow.commit()
    assert stored(probe_uow, "all") == []


def test_a_value_without_a_json_form_is_refused_not_stored_as_something_else(probe_uow, engine):
    # PostgreSQL: the JSON parameter cannot be written; SQLite: its executemany cannot bind it.
    refusal = TypeError if engine.dialect.name == "postgresql" else DBAPIError
    with pytest.raises(refusal), probe_uow() as uow:
        insert_all(uow.session, probe, [{**ROWS[0], "batch": "all", "name": object()}])
    assert stored(probe_uow, "all") == []


def test_rows_whose_key_exists_are_skipped_and_only_those_inserted_come_back(probe_uow):
    with probe_uow() as uow:
        first = insert_all(
            uow.session,
            probe,
            [{**ROWS[0], "id": 1, "batch": "first"}, {**ROWS[1], "id": 2, "batch": "first"}],
            returning=("id", "batch"),
        )
        again = insert_all(
            uow.session,
            probe,
            [{**ROWS[1], "id": 2, "batch": "again"}, {**ROWS[2], "id": 3, "batch": "again"}],
            skip_conflicts=True,
            returning=("id", "batch"),
        )
        uow.commit()

    assert first == [(1, "first"), (2, "first")]
    assert again == [(3, "again")]
    assert [row[0] for row in stored(probe_uow, "first")] == [ROWS[0]["name"], ROWS[1]["name"]]
    assert [row[0] for row in stored(probe_uow, "again")] == [ROWS[2]["name"]]
