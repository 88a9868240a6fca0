"""The SQL statements a process sends, counted from outside the product's code.

Why at the driver and not only with SQLAlchemy's ``before_cursor_execute``: the ledger's hot path
runs its statements on the driver's own cursor (``settlement.ledger._sql``) and bulk inserts go
through ``COPY`` (``settlement.foundation.db.insert_rows``); SQLAlchemy's events never see either. So:

- PostgreSQL: psycopg's ``Cursor.execute``/``executemany``/``copy``/``stream`` are wrapped for the
  whole process (:func:`count_psycopg`), and so is the connection's internal command, which sends
  the implicit ``BEGIN`` before a transaction's first statement and the ``COMMIT``/``ROLLBACK``;
- SQLite: an SQLAlchemy ``checkout`` listener on the engine sets the driver connection's trace
  callback (:func:`count_sqlite`), which sees every statement, ``BEGIN IMMEDIATE`` and ``COMMIT``
  included.

An ``executemany`` counts as one statement (psycopg pipelines its rows in one round trip); two
statements psycopg sends in one pipeline count as two. :func:`purpose` names a statement by its
verb and table (``SELECT bills FOR UPDATE``: a top-level ``FOR UPDATE`` only, ``INSERT ledger_transfers``), so counts can be shown
grouped. :data:`TRANSACTION_CONTROL` shapes are kept apart from the work statements: "statements"
in the benchmarks' figures means the others, and "transactions" the ``COMMIT``/``ROLLBACK`` count.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

#: Where a server process dumps its counts (set for the API benchmark's server processes).
DUMP_FOLDER_ENV = "BENCH_STATEMENTS_DIR"
DUMP_SECONDS = 0.2
#: Set when the process exits; the dumps' timer waits on it, so it never outlives the process.
_EXITING = threading.Event()
atexit.register(_EXITING.set)
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})
#: Tables of the sandbox's stand-ins for outside calls (wallet, insurance platform).
SANDBOX_PREFIX = "sandbox_"
ENDING = ("COMMIT", "ROLLBACK")


#: Purposes of the texts seen: PostgreSQL's statements are a few dozen texts with placeholders,
#: so naming one costs a lookup in the servers being measured. SQLite's trace has the values
#: written in, so each is named afresh (~15 µs, a few per cent of a fee batch's CPU there).
_SHAPES: dict[str, str] = {}
_SHAPES_KEPT = 10_000


@dataclass
class StatementLog:
    """Statements counted by purpose; with ``recording`` on, their texts in order too."""

    counts: Counter[str] = field(default_factory=Counter)
    recording: bool = False
    texts: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, sql: str) -> None:
        shape = _SHAPES.get(sql)
        if shape is None:
            shape = purpose(sql)
            if len(_SHAPES) < _SHAPES_KEPT:
                _SHAPES[sql] = shape
        with self._lock:
            self.counts[shape] += 1
            if self.recording:
                self.texts.append((shape, sql))

    def request(self) -> None:
        with self._lock:
            self.requests += 1

    def snapshot(self) -> Tally:
        with self._lock:
            return Tally(Counter(self.counts), self.requests)

    def record(self) -> list[tuple[str, str]]:
        """Start recording texts afresh; returns the list they go into."""
        with self._lock:
            self.texts = []
            self.recording = True
            return self.texts


@dataclass(frozen=True)
class Tally:
    """Counts at one moment (or the difference of two moments, :meth:`since`)."""

    counts: Counter[str]
    requests: int = 0

    def since(self, earlier: Tally) -> Tally:
        counts = Counter(self.counts)
        counts.subtract(earlier.counts)
        return Tally(+counts, self.requests - earlier.requests)

    @property
    def statements(self) -> int:
        return sum(n for shape, n in self.counts.items() if shape not in TRANSACTION_CONTROL)

    @property
    def transactions(self) -> int:
        return sum(self.counts[shape] for shape in ENDING)

    def touching(self, prefix: str) -> int:
        """Statements on tables whose names start with ``prefix`` (``sandbox_``: the sandbox's
        stand-ins for outside calls, which production makes over HTTP instead)."""
        return sum(
            n
            for shape, n in self.counts.items()
            if any(w.startswith(prefix) for w in shape.split())
        )

    def per(self, count: int) -> dict[str, float]:
        """Statements, transactions and each purpose per ``count`` (requests, payments…)."""
        if count <= 0:
            return {"statements": float("nan"), "transactions": float("nan")}
        return {
            "statements": self.statements / count,
            "transactions": self.transactions / count,
            **{shape: n / count for shape, n in self.counts.most_common()},
        }

    def to_json(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "requests": self.requests}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        return cls(Counter(data["counts"]), int(data["requests"]))

    @classmethod
    def total(cls, tallies: Iterable[Tally]) -> Tally:
        counts: Counter[str] = Counter()
        requests = 0
        for tally in tallies:
            counts.update(tally.counts)
            requests += tally.requests
        return cls(counts, requests)


# -- naming statements ---------------------------------------------------------------------------

_NAME = r'"?(\w+)"?(?:\."?(\w+)"?)?'
#: ``UPDATE`` as a verb, not in ``FOR UPDATE``, ``FOR NO KEY UPDATE`` or ``DO UPDATE``.
_WRITES = re.compile(
    rf"\b(INSERT\s+INTO|(?<!FOR )(?<!KEY )(?<!DO )UPDATE|DELETE\s+FROM)\s+{_NAME}", re.IGNORECASE
)
_FROM = re.compile(rf"\bFROM\s+{_NAME}", re.IGNORECASE)
_CALL = re.compile(r"^SELECT\s+(\w+)\s*\(", re.IGNORECASE)
_COPY = re.compile(rf"^COPY\s+{_NAME}", re.IGNORECASE)


def _table(match: re.Match[str], first: int) -> str:
    return match.group(first + 1) or match.group(first)


def _outer_from(text: str) -> re.Match[str] | None:
    """The first ``FROM`` outside parentheses (not a subquery's in the select list); else the
    first at all (``WITH … AS (SELECT … FROM t) SELECT …``)."""
    first = None
    for match in _FROM.finditer(text):
        first = first or match
        before = text[: match.start()]
        if before.count("(") == before.count(")"):
            return match
    return first


def _top_level(text: str) -> str:
    """``text`` without what any parentheses hold: the statement's own clauses, not those of its
    CTEs or subqueries (a ``FOR UPDATE`` inside one locks rows, but the statement is not a
    ``SELECT … FOR UPDATE``)."""
    kept = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def purpose(sql: str) -> str:
    """A statement's verb and main table: ``SELECT bills FOR UPDATE``, ``INSERT request_nonces``,
    ``WITH INSERT ledger_transfers + UPDATE ledger_accounts``, ``BEGIN``, ``COMMIT``…"""
    text = sql.lstrip()
    verb = text[:16].split(None, 1)[0].upper().rstrip(";") if text else ""
    if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END"):
        return "BEGIN" if verb == "BEGIN" else ("COMMIT" if verb == "END" else verb)
    if verb == "COPY":
        match = _COPY.match(text)
        return f"COPY {_table(match, 1)}" if match else "COPY"
    upper = text.upper()
    writes = [f"{m.group(1).split()[0].upper()} {_table(m, 2)}" for m in _WRITES.finditer(text)]
    if writes:
        return ("WITH " if verb == "WITH" else "") + " + ".join(dict.fromkeys(writes))
    if verb in ("SELECT", "WITH"):
        match = _outer_from(text)
        call = _CALL.match(text)
        if match:
            name = f"SELECT {_table(match, 1)}"
        else:
            name = f"SELECT {call.group(1)}()" if call else "SELECT (no table)"
        top = " ".join(_top_level(upper).split())
        if "FOR UPDATE" in top or "FOR NO KEY UPDATE" in top:
            name += " FOR UPDATE"
        if "SET_CONFIG" in upper:
            name += " (+ set_config)"
        return name
    return verb or "(empty)"


# -- watching a process's driver -----------------------------------------------------------------

_LOG = StatementLog()
_installing = threading.Lock()


def process_log() -> StatementLog:
    """The one log of this process's statements."""
    return _LOG


def _query_text(query: Any, cursor: Any = None) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes | bytearray | memoryview):
        return bytes(query).decode("utf-8", "replace")
    as_string = getattr(query, "as_string", None)
    if as_string is not None:
        try:
            return str(as_string(cursor))
        except Exception:  # a composed query that needs a live connection to render
            return repr(query)
    return str(query)


def count_psycopg() -> StatementLog:
    """Count every statement psycopg sends from this process (into :func:`process_log`)."""
    import psycopg
    from psycopg import _connection_base

    log = _LOG
    cursor_class, connection_class = psycopg.Cursor, _connection_base.BaseConnection

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def wrapper(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, query, *args, **kwargs)
            finally:  # after the implicit BEGIN the call may send first, so they log in order
                log.add(_query_text(query, self))

        wrapper.counted = True  # type: ignore[attr-defined]
        return wrapper

    with _installing:
        if not getattr(cursor_class.execute, "counted", False):
            for name in ("execute", "executemany", "copy", "stream"):
                setattr(cursor_class, name, counted(getattr(cursor_class, name)))
            # The implicit BEGIN before a transaction's first statement, COMMIT and ROLLBACK.
            connection_class._exec_command = counted(connection_class._exec_command)
    return log


def stop_counting_psycopg() -> None:
    """Undo :func:`count_psycopg` (for tests; a server process counts until it ends)."""
    import psycopg
    from psycopg import _connection_base

    with _installing:
        for owner, name in (
            *((psycopg.Cursor, name) for name in ("execute", "executemany", "copy", "stream")),
            (_connection_base.BaseConnection, "_exec_command"),
        ):
            method = owner.__dict__[name]
            if getattr(method, "counted", False):
                setattr(owner, name, method.__wrapped__)


def count_sqlite(engine: Any) -> StatementLog:
    """Count every statement of ``engine``'s SQLite connections from their next checkout on."""
    from sqlalchemy import event

    if not event.contains(engine, "checkout", _trace_sqlite):
        event.listen(engine, "checkout", _trace_sqlite)
    return _LOG


def _trace_sqlite(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    dbapi_connection.set_trace_callback(_LOG.add)


def count_engine(engine: Any) -> StatementLog:
    """Count ``engine``'s statements (PostgreSQL: every psycopg connection of the process)."""
    if engine.dialect.name == "postgresql":
        return count_psycopg()
    return count_sqlite(engine)


# -- server processes: counts dumped to files, read by the benchmark's driver --------------------


def counting_app(app: Any, engine: Any) -> Any:
    """``app`` whose requests and ``engine``'s statements are counted, when ``BENCH_STATEMENTS_DIR``
    names a folder: each process dumps its counts there as ``<pid>.json`` every
    :data:`DUMP_SECONDS` (read them with :func:`read_dumps`). Without it, ``app`` itself."""
    folder = os.environ.get(DUMP_FOLDER_ENV)
    if not folder:
        return app
    log = count_engine(engine)
    target = Path(folder) / f"{os.getpid()}.json"

    def dump_until_exit() -> None:
        written = None
        while not _EXITING.wait(DUMP_SECONDS):
            tally = log.snapshot()
            if tally != written:
                scratch = target.with_suffix(".tmp")
                scratch.write_text(json.dumps(tally.to_json()))
                scratch.replace(target)
                written = tally

    threading.Thread(target=dump_until_exit, name="statement dumps", daemon=True).start()

    async def counted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] != "/health":
            log.request()
        await app(scope, receive, send)

    return counted


def read_dumps(folder: Path) -> Tally:
    """The sum of every server process's last dump in ``folder``."""
    tallies = []
    for path in folder.glob("*.json"):
        try:
            tallies.append(Tally.from_json(json.loads(path.read_text())))
        except (OSError, ValueError):  # being replaced this instant: the next read has it
            continue
    return Tally.total(tallies)


def settled_dumps(folder: Path, earlier: Tally, requests: int, *, seconds: float = 10) -> Tally:
    """The servers' counts once they include at least ``requests`` more than ``earlier``."""
    deadline = time.monotonic() + seconds
    while read_dumps(folder).requests - earlier.requests < requests:
        if time.monotonic() >= deadline or _EXITING.wait(DUMP_SECONDS):
            break
    # Two more dumps: the statements of the last requests' commits follow their answers.
    _EXITING.wait(2 * DUMP_SECONDS)
    return read_dumps(folder)


def format_purposes(tally: Tally, count: int, *, indent: str = "  ", limit: int = 40) -> str:
    """One line per purpose: how many per ``count`` (e.g. per fee batch), most frequent first."""
    lines = []
    for shape, n in tally.counts.most_common(limit):
        lines.append(f"{indent}{n / count:7.2f}  {shape}")
    return "\n".join(lines)
