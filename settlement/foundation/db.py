"""Engines and sessions: the same code on SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, TypeVarTuple, overload

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import TypedReturnsRows

from settlement.foundation.lists import text_array
from settlement.foundation.metrics import watch_pool

SQLITE_BUSY_TIMEOUT_MS = 30_000
_Ts = TypeVarTuple("_Ts")


#: How long a new PostgreSQL connection may take to open.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, **options: Any) -> Engine:
    """Build an engine for ``url`` with the settings each backend needs to be safe.

    SQLite: WAL, a busy timeout, foreign keys on, and every transaction begun with
    ``BEGIN IMMEDIATE`` so that two writers never deadlock upgrading a read lock (SQLite has no
    ``SELECT … FOR UPDATE``; taking the write lock up front serialises writers instead).
    PostgreSQL: READ COMMITTED with explicit row locks where money moves. No pre-ping: it costs a
    round trip on every checkout (a fifth of a ledger operation's). A connection that died with
    the server fails its first statement instead; SQLAlchemy then invalidates the whole pool, so
    one request answers an error and the client's retry (same idempotency key) finds fresh
    connections. Connections are recycled hourly so none outlives a server-side idle limit.
    """
    # Statement parameters carry ID numbers and phones: never put them into an error's text
    # (which a logged traceback would print) or into SQLAlchemy's own logging.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        writer = threading.Lock()
        engine = create_engine(
            url,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "check_same_thread": False,
                "factory": _queued_writer_connection(writer),
            },
            **options,
        )
        _configure_sqlite(engine, writer)
    else:
        options.setdefault("pool_size", 20)
        options.setdefault("max_overflow", 20)
        options.setdefault("pool_recycle", 3600)
        # A server that does not answer at all (a network partition) fails the connection
        # attempt in seconds, answered 503 database_unreachable, instead of holding the request
        # for minutes.
        options["connect_args"] = {
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
            **options.get("connect_args", {}),
        }
        engine = create_engine(url, **options)
    watch_pool(engine)
    return engine


#: Execution option of a connection that only reads, one statement at a time: on SQLite it takes
#: no write lock, so it may read while this thread's own transaction holds the lock (the sandbox
#: clock's offset, read from inside any use case).
READS_ONLY = "shuxin_reads_only"


def _configure_sqlite(engine: Engine, writer: threading.Lock) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READS_ONLY):
            return  # statements run one by one (autocommit); WAL lets them read beside a writer
        # Every transaction takes SQLite's write lock: in this process, queue for it first
        # (see _queued_writer_connection).
        held = writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held:
                writer.release()
            raise
        connection.connection.driver_connection.holds_writer = held


def _queued_writer_connection(writer: threading.Lock) -> type[sqlite3.Connection]:
    """The driver's connection class for one engine: it lets ``writer`` go once a transaction
    has really ended.

    Why a lock in the process: every transaction takes SQLite's write lock (``BEGIN
    IMMEDIATE``), and SQLite's busy handler waits for it by polling with sleeps of up to 100 ms,
    first come not first served, so under many threads some waited for seconds (p99 1.2-1.4 s at
    32 clients in ``tests/bench/api.py``, ~0.3 s with this lock). Threads now queue in the
    process; only processes still poll each other. Why here and not in SQLAlchemy's commit and
    rollback events: those run before the driver's COMMIT, so the next writer would find SQLite
    still locked. Should a transaction's end ever go unseen, the next writer waits the busy
    timeout for the lock and then goes on without it, as before: slower, never stuck.
    """

    class QueuedWriterConnection(sqlite3.Connection):
        holds_writer = False

        # The three ways a transaction ends.
        def commit(self) -> None:
            self._ending(super().commit)

        def rollback(self) -> None:
            self._ending(super().rollback)

        def close(self) -> None:
            self._ending(super().close)

        def _ending(self, end: Callable[[], None]) -> None:
            try:
                end()
            finally:
                if self.holds_writer:
                    self.holds_writer = False
                    writer.release()

    return QueuedWriterConnection


def insert_ignoring_conflicts(
    table: Table, columns: Sequence[str], *returning: ColumnElement[Any]
) -> dict[str, ReturningInsert[Any]]:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING returning``, by dialect, for ``columns`` bound
    by name. Build it once at import for statements every request runs: building and caching a
    statement per call costs more Python than executing it.

    Whether a row comes back tells who won a race, without an exception spoiling the
    transaction: on PostgreSQL a concurrent insert of the same key waits for the first to commit,
    then inserts nothing (or claims the key if the first rolled back).
    """
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    return {
        "postgresql": postgresql_insert(table)
        .values(values)
        .on_conflict_do_nothing()
        .returning(*returning),
        "sqlite": sqlite_insert(table)
        .values(values)
        .on_conflict_do_nothing()
        .returning(*returning),
    }


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@overload
def execute_on_connection(
    session: Session, statement: TypedReturnsRows[*_Ts], parameters: Any = None
) -> CursorResult[*_Ts]: ...


@overload
def execute_on_connection(
    session: Session, statement: Executable, parameters: Any = None
) -> CursorResult[*tuple[Any, ...]]: ...


def execute_on_connection(
    session: Session, statement: Executable, parameters: Any = None
) -> CursorResult[*tuple[Any, ...]]:
    """Run a statement that loads no mapped objects on the session's connection, inside its
    transaction, after flushing what the session holds (as its autoflush would), but without
    the rest of the Session's layer.

    Why: that layer costs ~0.12 ms of Python a statement, a third of a statement's whole cost
    on the client, which the statements every charge runs notice (``tests/bench/feepath.py``);
    a flush with nothing to write costs well under a microsecond.
    """
    session.flush()
    return session.connection().execute(statement, parameters)


# -- set-based statements for batches of thousands of rows ---------------------------------------


def among(
    session: Session,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:values)``, one array parameter.

    A batch of thousands of ids is then one bound value instead of thousands of placeholders
    that SQLAlchemy and the driver would each expand and parse on every call.
    """
    element = column.expression if isinstance(column, QueryableAttribute) else column
    if session.get_bind().dialect.name == "postgresql":
        if isinstance(element.type, String) and all(isinstance(v, str) for v in values):
            # The array as its literal, parsed by the server (see text_array).
            literal = bindparam(None, text_array(values), type_=Text)
            return element == any_(cast(literal, ARRAY(element.type)))
        return element == any_(bindparam(None, list(values), type_=ARRAY(element.type)))
    return element.in_(values)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (all with the same keys) in the caller's transaction; returns how many.

    PostgreSQL: ``COPY … FROM STDIN`` on the session's connection, formatted by the driver in C:
    an executemany or an ``unnest`` of arrays costs several times more Python per row, which is
    what a batch of thousands of rows pays for. SQLite: an executemany.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(table.insert(), list(rows))
        return len(rows)
    names = list(rows[0])
    columns = [[row[name] for row in rows] for name in names]
    for position, name in enumerate(names):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            # COPY takes JSON as text, serialised as the engine would.
            columns[position] = _json_texts(dialect, column_type, columns[position])
        else:
            process = column_type.bind_processor(dialect)
            if process is not None:
                columns[position] = [process(value) for value in columns[position]]
    session.flush()  # anything the session still holds goes first, as with an INSERT
    quote = dialect.identifier_preparer.quote
    statement = (
        f"COPY {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) FROM STDIN"
    )
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for values in zip(*columns, strict=True):
            copy.write_row(values)
    return len(rows)


def insert_all(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys) in the caller's transaction, in one statement;
    the ``returning`` columns of the rows inserted. ``skip_conflicts``: ``ON CONFLICT DO
    NOTHING`` (a row whose key exists is not inserted, nor returned).

    PostgreSQL: ``INSERT … SELECT … FROM json_populate_recordset(…)`` of one JSON parameter,
    the rows as the table's record type: one statement text whatever the number of rows, and
    the values serialised by the standard library's encoder in C. An executemany sends one
    INSERT per row (psycopg pipelines them, but formats, binds and executes each), and arrays
    for ``unnest`` are formatted element by element in psycopg's Python: for the few dozen rows
    of a group of charges either cost more Python than anything else the group writes. (``COPY``,
    :func:`insert_rows`, is for thousands of rows.) SQLite: an executemany. Each column's bind
    processing is the engine's, as with an INSERT; JSON cannot hold the NUL character, which no
    request's text may hold either (``api.schemas.types.RequestModel``).
    """
    if not rows:
        return []
    session.flush()  # anything the session still holds goes first, as with an INSERT
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        insert = sqlite_insert(table)
        if skip_conflicts:
            insert = insert.on_conflict_do_nothing()
        if returning:
            return list(
                session.connection().execute(
                    insert.returning(*(table.c[name] for name in returning)), list(rows)
                )
            )
        session.connection().execute(insert, list(rows))
        return []
    shape = _JsonInsertShape(table, tuple(rows[0]), skip_conflicts, tuple(returning))
    statement, processors = _json_insert(shape, dialect)
    result = session.connection().exec_driver_sql(statement, (json_rows(rows, processors),))
    return list(result) if returning else []


def json_rows(
    rows: Sequence[Mapping[str, Any]], processors: Sequence[tuple[str, Callable[[Any], Any]]]
) -> str:
    """``rows`` as a JSON array of objects, each value bound as its column binds it
    (``processors``); times in ISO 8601 with their offset, other non-JSON values as text."""
    if processors:
        copies = [dict(row) for row in rows]
        for name, process in processors:
            for row in copies:
                row[name] = process(row[name])
        rows = copies
    return json.dumps(rows, default=_json_value, separators=(",", ":"))


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form here")


@dataclass(frozen=True)
class _JsonInsertShape:
    table: Table
    names: tuple[str, ...]
    skip_conflicts: bool
    returning: tuple[str, ...]


_JsonInsert = tuple[str, list[tuple[str, Callable[[Any], Any]]]]
_JSON_INSERTS: dict[_JsonInsertShape, _JsonInsert] = {}


def _json_insert(shape: _JsonInsertShape, dialect: Any) -> _JsonInsert:
    """:func:`insert_all`'s statement and the bind processors of its columns that have one,
    made once per shape."""
    made = _JSON_INSERTS.get(shape)
    if made is None:
        quote = dialect.identifier_preparer.quote
        table_name = dialect.identifier_preparer.format_table(shape.table)
        columns = ", ".join(quote(name) for name in shape.names)
        # Names come from the table's metadata; the rows are one bound value.
        statement = (
            f"INSERT INTO {table_name} ({columns}) SELECT {columns} "  # noqa: S608
            f"FROM json_populate_recordset(NULL::{table_name}, %s::json)"
        )
        if shape.skip_conflicts:
            statement += " ON CONFLICT DO NOTHING"
        if shape.returning:
            statement += f" RETURNING {', '.join(quote(name) for name in shape.returning)}"
        processors: list[tuple[str, Callable[[Any], Any]]] = [
            (name, process)
            for name in shape.names
            if (process := shape.table.c[name].type.bind_processor(dialect)) is not None
        ]
        made = _JSON_INSERTS[shape] = (statement, processors)
    return made


def _json_texts(dialect: Any, column_type: JSON, values: list[Any]) -> list[str | None]:
    """``values`` serialised as the engine would; a value shared by several rows (the same
    object) is serialised once."""
    dumps = getattr(dialect, "_json_serializer", None) or json.dumps
    keep_null = column_type.none_as_null
    done: dict[int, str] = {}
    texts: list[str | None] = []
    for value in values:
        if value is None and keep_null:
            texts.append(None)
            continue
        key = id(value)  # the values stay referenced by ``values`` for the whole loop
        if key not in done:
            done[key] = dumps(value)
        texts.append(done[key])
    return texts


SelectT = TypeVar("SelectT", bound=Select[Any])


def advisory_key(key_sql: str) -> str:
    """The SQL of an advisory lock's key named by ``key_sql`` (an SQL text expression), in this
    schema.

    PostgreSQL's advisory locks are one namespace for the whole database, while what a key
    serialises (a patient's credit, their splits, a family's links) lives in the current schema:
    without the schema in the key, two deployments or test runs in schemas of one database wait
    on each other's patients, and, nothing else ordering their locks, can deadlock each other.
    """
    return f"hashtextextended(current_schema() || '/' || {key_sql}, 0)"


_XACT_LOCK = text(f"SELECT pg_advisory_xact_lock({advisory_key(':key')})")


def lock_until_commit(session: Session, key: str) -> None:
    """Hold the advisory lock ``key`` names in this schema until the transaction ends
    (PostgreSQL only: SQLite serialises writers already)."""
    session.execute(_XACT_LOCK, {"key": key})


def skip_locked(session: Session, query: SelectT, *of: Any) -> SelectT:
    """``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers and needs nothing."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=list(of) or None)
    return query


@contextmanager
def autonomous(session: Session) -> Iterator[Connection]:
    """A transaction on a connection of its own, beside ``session``'s, committed when the block
    ends: what it writes stands whatever becomes of the session's transaction. PostgreSQL only
    (SQLite has one writer, which the session may hold).

    The connection comes from a pool of its own (:func:`_side_engine`): taken from the
    session's pool, as many requests as the pool holds, each holding one connection and waiting
    for a second, would wait on each other until the pool's timeout."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    assert engine.dialect.name == "postgresql", "an autonomous write needs a second writer"
    with _side_engine(engine).connect() as connection, connection.begin():
        yield connection


_SIDE_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_SIDE_ENGINES_LOCK = threading.Lock()


def _side_engine(engine: Engine) -> Engine:
    """``engine``'s twin over a pool of its own, as large, connecting the same way (the pool is
    recreated from ``engine``'s, which keeps its connect arguments); disposed with ``engine``."""
    with _SIDE_ENGINES_LOCK:
        side = _SIDE_ENGINES.get(engine)
        if side is None:
            side = create_engine(engine.url, pool=engine.pool.recreate(), hide_parameters=True)
            event.listen(engine, "engine_disposed", lambda _engine: side.dispose())
            _SIDE_ENGINES[engine] = side
        return side
