"""Set-based writes of loaded rows: several INSERTs and UPDATEs sent as one statement.

A use case that has decided what to write (a bill's move, its history row, a settlement, a
wallet order) sends it with :func:`write_all`: on PostgreSQL as one statement whose writes are
writable CTEs (``WITH w0 AS (UPDATE … RETURNING 1), w1 AS (INSERT … RETURNING 1) SELECT …``),
one round trip instead of one per row and table; on SQLite (no writes in ``WITH``) one statement
after another, in the same order. Both write the same rows (``tests/integration/payments/
test_combined_writes.py``).

The ORM's objects are kept true without being flushed: :func:`inserted` attaches the new object
to the session as if it had been loaded, :func:`updated` sets the written values as the loaded
ones. An object with a version column (``version_id_col``: the bill) is updated only at the
version the session loaded, and bumped, as the ORM's flush would: a row another writer changed
raises :class:`~sqlalchemy.orm.exc.StaleDataError`.

The writes of one statement do not see each other's rows (PostgreSQL runs them on one
snapshot): only writes that touch different rows, or insert children of rows that exist, go
together. Foreign keys are checked when the whole statement ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, inspect, literal_column, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.dml import Insert, Update

#: An INSERT's rowcount is kept only when asked for (SQLAlchemy 2.0).
_ROWCOUNT = {"preserve_rowcount": True}
#: The dialects whose writes go as one statement (writable CTEs); the others send one each.
COMBINED = frozenset({"postgresql"})


@dataclass(frozen=True)
class Write:
    """One row's INSERT or UPDATE, the rows it must touch, and what keeps the session true."""

    statement: Insert | Update
    expected: int
    then: Callable[[], None]
    what: str


def inserted(session: Session, row: Any) -> Write:
    """INSERT the new mapped object ``row`` (every column given, none generated); once written
    it is in ``session`` as a loaded object, so reading it sends nothing."""
    mapper = inspect(type(row))
    values = _values(row)

    def attach() -> None:
        for key, value in values.items():
            setattr(row, key, value)  # every attribute present: nothing is expired
        make_transient_to_detached(row)
        session.add(row)

    return Write(insert(mapper.local_table).values(values), 1, attach, f"insert {row!r}")


def added(row: Any) -> Write:
    """INSERT a row nothing in the session reads back (a history row: its id is not needed)."""
    mapper = inspect(type(row))
    values = {key: value for key, value in _values(row).items() if value is not None}
    return Write(insert(mapper.local_table).values(values), 1, lambda: None, f"insert {row!r}")


def _values(row: Any) -> dict[str, Any]:
    """Every column of the new ``row``: what it was given, else the column's Python default."""
    values = {}
    for attribute in inspect(type(row)).column_attrs:
        value = row.__dict__.get(attribute.key)
        default = attribute.columns[0].default
        if value is None and default is not None and default.is_scalar:
            value = default.arg
        elif value is None and default is not None and default.is_callable:
            value = default.arg(None)  # a Python default (``list``), wrapped to take a context
        values[attribute.key] = value
    return values


def updated(row: Any, **values: Any) -> Write:
    """UPDATE the loaded object ``row``'s columns ``values`` (by primary key, and at its loaded
    version when it has one, bumped); once written ``row`` holds them, unchanged for the
    session."""
    state = inspect(row)
    mapper = state.mapper
    table = mapper.local_table
    keys = state.identity
    assert keys is not None, "only a loaded row is updated"
    condition = [column == key for column, key in zip(mapper.primary_key, keys, strict=True)]
    changes = dict(values)
    version = mapper.version_id_col
    if version is not None:
        name = mapper.get_property_by_column(version).key
        current = getattr(row, name)
        condition.append(version == current)
        changes[name] = current + 1
    statement = update(table).where(*condition).values(changes)

    def keep() -> None:
        for key, value in changes.items():
            set_committed_value(row, key, value)

    return Write(statement, 1, keep, f"update {row!r}")


def write_all(session: Session, writes: Sequence[Write]) -> None:
    """Send ``writes`` in the caller's transaction, after what the session holds (as a flush
    would): one statement on PostgreSQL, one each on SQLite. A write that touches other than
    its one row (a version another writer moved) raises ``StaleDataError``; nothing of the
    session is changed then."""
    if not writes:
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name in COMBINED and len(writes) > 1:
        ctes = [
            write.statement.returning(literal_column("1")).cte(f"w{number}")
            for number, write in enumerate(writes)
        ]
        counts = select(*(select(func.count()).select_from(cte).scalar_subquery() for cte in ctes))
        touched = list(connection.execute(counts).one())
    else:
        touched = [
            connection.execute(write.statement, execution_options=_ROWCOUNT).rowcount
            for write in writes
        ]
    for write, count in zip(writes, touched, strict=True):
        if count != write.expected:
            raise StaleDataError(f"{write.what}: {count} rows, expected {write.expected}")
    for write in writes:
        write.then()
