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

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    String,
    bindparam,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import Executable, FromClause

from settlement.foundation.db import advisory_key, lock_until_commit

#: An INSERT's rowcount is kept only when asked for (SQLAlchemy 2.0).
_ROWCOUNT = {"preserve_rowcount": True}
#: The dialects whose writes go as one statement (writable CTEs); the others send one each.
COMBINED = frozenset({"postgresql"})


@dataclass(frozen=True)
class Write:
    """One row's INSERT, UPDATE or upsert, the rows it must touch, and what keeps the session
    true. ``values``: the columns written; ``where``: the columns an UPDATE finds its rows by
    (equal to the value given, or, for the columns named in ``among``, one of the values
    given); ``conflict``: the key columns an upsert (``INSERT … ON CONFLICT DO UPDATE``) meets
    a row on, whose other ``values`` it then sets."""

    table: FromClause
    kind: str  # "insert", "update" or "upsert"
    values: dict[str, Any]
    expected: int
    then: Callable[[], None]
    what: str
    where: dict[str, Any] = field(default_factory=dict)
    conflict: tuple[str, ...] = ()
    among: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[Any, ...]:
        """What the statement's SQL depends on (not the values): statements are built once
        per shape and reused, their values bound."""
        return (
            self.table,
            self.kind,
            tuple(self.values),
            tuple(self.where),
            self.conflict,
            self.among,
        )


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

    return Write(mapper.local_table, "insert", values, 1, attach, f"insert {row!r}")


def added(row: Any) -> Write:
    """INSERT a row nothing in the session reads back (a history row: its id is not needed)."""
    mapper = inspect(type(row))
    values = {key: value for key, value in _values(row).items() if value is not None}
    return Write(mapper.local_table, "insert", values, 1, lambda: None, f"insert {row!r}")


def upserted(
    table: FromClause,
    values: dict[str, Any],
    conflict: tuple[str, ...],
    *,
    then: Callable[[], None],
    what: str,
) -> Write:
    """INSERT ``values``, or, when a row with the same ``conflict`` columns exists, set its
    other ``values``: one statement, which locks the row until commit."""
    return Write(table, "upsert", values, 1, then, what, conflict=conflict)


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
    keys = state.identity
    assert keys is not None, "only a loaded row is updated"
    where = {column.key: key for column, key in zip(mapper.primary_key, keys, strict=True)}
    changes = dict(values)
    version = mapper.version_id_col
    if version is not None:
        name = mapper.get_property_by_column(version).key
        current = getattr(row, name)
        where[version.key] = current
        changes[name] = current + 1

    def keep() -> None:
        for key, value in changes.items():
            set_committed_value(row, key, value)

    return Write(mapper.local_table, "update", changes, 1, keep, f"update {row!r}", where=where)


def updated_among(
    model: Any,
    column: str,
    keys: Sequence[Any],
    values: dict[str, Any],
    *,
    then: Callable[[], None],
    what: str,
) -> Write:
    """UPDATE ``values`` of every row of ``model`` whose ``column`` is one of ``keys`` (each
    must be touched: ``keys`` are distinct); ``then`` keeps the session's loaded rows true."""
    table = inspect(model).local_table
    where = {column: list(keys)}
    return Write(table, "update", dict(values), len(keys), then, what, where, among=(column,))


def write_all(session: Session, writes: Sequence[Write], *, lock: str | None = None) -> None:
    """Send ``writes`` in the caller's transaction, after what the session holds (as a flush
    would): one statement on PostgreSQL, one each on SQLite. A write that touches other than
    its one row (a version another writer moved) raises ``StaleDataError``; nothing of the
    session is changed then.

    ``lock``: an advisory lock (:func:`~settlement.foundation.db.lock_until_commit`'s key) to
    hold from this statement on, taken in it on PostgreSQL (one round trip less) when the writes
    go as one statement, else just before them. Only for writes whose rows the caller already
    holds locked: the statement may take the advisory lock before its writes' row locks, so a
    row it had still to wait for would be locked after the advisory lock, not before."""
    if not writes:
        if lock is not None:
            lock_until_commit(session, lock)
        return
    session.flush()
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect in COMBINED and len(writes) > 1:
        statement = _combined(dialect, tuple(write.shape for write in writes), locking=bool(lock))
        parameters = _parameters(writes)
        if lock is not None:
            parameters[_LOCK_KEY] = lock
        touched = list(connection.execute(statement, parameters).one())[: len(writes)]
    else:
        if lock is not None:
            lock_until_commit(session, lock)
        touched = [
            connection.execute(
                _statement(dialect, write.shape, 0),
                _parameters([write]),
                execution_options=_ROWCOUNT,
            ).rowcount
            for write in writes
        ]
    for write, count in zip(writes, touched, strict=True):
        if count != write.expected:
            raise StaleDataError(f"{write.what}: {count} rows, expected {write.expected}")
    for write in writes:
        write.then()


# -- statements, built once per shape --------------------------------------------------------------
#
# Why: building a statement from its values and computing its cache key on every call cost a
# payment more Python than sending it (issue 18: ~17,000 ``coercions.expect`` calls per 40
# payments). A statement built once, its values bound by name, keeps its cache key (memoised on
# the object) and its compiled form (the engine's cache): a call only binds the values.

_SHAPES_KEPT = 1_000
_BUILT: dict[tuple[Any, ...], Executable] = {}
_BUILT_LOCK = threading.Lock()


def _parameters(writes: Sequence[Write]) -> dict[str, Any]:
    parameters = {}
    for number, write in enumerate(writes):
        for key, value in write.values.items():
            parameters[f"w{number}_{key}"] = value
        for key, value in write.where.items():
            parameters[f"w{number}_where_{key}"] = value
    return parameters


def _built(key: tuple[Any, ...], build: Callable[[], Executable]) -> Executable:
    statement = _BUILT.get(key)
    if statement is None:
        statement = build()
        with _BUILT_LOCK:
            if len(_BUILT) < _SHAPES_KEPT:
                _BUILT[key] = statement
    return statement


def _statement(dialect: str, shape: tuple[Any, ...], number: int) -> Any:
    """One write's statement, its values bound as ``w{number}_{column}``."""
    return _built((dialect, shape, number), lambda: _build(dialect, shape, number))


_LOCK_KEY = "write_all_lock"
#: The advisory lock as a column of the combined statement, keyed in this schema as
#: ``lock_until_commit`` keys it (``advisory_key``).
_LOCK_COLUMN = text(f"pg_advisory_xact_lock({advisory_key(':' + _LOCK_KEY)})").bindparams(
    bindparam(_LOCK_KEY, type_=String())
)


def _combined(
    dialect: str, shapes: tuple[tuple[Any, ...], ...], *, locking: bool = False
) -> Executable:
    """The writes as one statement: each a writable CTE, the rows each touched counted; with
    ``locking``, the advisory lock ``:write_all_lock`` taken as its last column."""

    def build() -> Executable:
        ctes = [
            _build(dialect, shape, number).returning(literal_column("1")).cte(f"w{number}")
            for number, shape in enumerate(shapes)
        ]
        counts = [select(func.count()).select_from(cte).scalar_subquery() for cte in ctes]
        if locking:
            return select(*counts, _LOCK_COLUMN)
        return select(*counts)

    return _built((dialect, shapes, locking), build)


def _build(dialect: str, shape: tuple[Any, ...], number: int) -> Any:
    table, kind, columns, where, conflict, among = shape

    def bound(key: str, prefix: str = "") -> Any:
        return bindparam(f"w{number}_{prefix}{key}", type_=table.c[key].type)

    values = {key: bound(key) for key in columns}
    if kind == "update":
        condition = [
            table.c[key].in_(
                bindparam(f"w{number}_where_{key}", type_=table.c[key].type, expanding=True)
            )
            if key in among
            else table.c[key] == bound(key, "where_")
            for key in where
        ]
        return update(table).where(*condition).values(values)
    if kind == "insert":
        return insert(table).values(values)
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = upsert(table).values(values)
    changes = {key: statement.excluded[key] for key in columns if key not in conflict}
    return statement.on_conflict_do_update(index_elements=list(conflict), set_=changes)
