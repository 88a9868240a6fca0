# ruff: noqa: S608 - statements are assembled from this module's constants; values are all bound
"""The ledger's hot path in plain SQL on the driver's cursor, one flavour per backend.

Why not SQLAlchemy Core here: each Core execution costs ~0.2 ms of Python before the driver is
reached, and a hold or a post is four or five statements; on the driver's cursor the same
statements cost a tenth of that, which is most of the difference between the ledger keeping up
with ``pgbench`` or not (see ``tests/bench/ledger.py``). The statements run on the connection of
the caller's session, inside its transaction; the tables are those of :mod:`.tables`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from psycopg import RawCursor

#: An account's id and its four balances (or their changes), in fen.
BalanceRow = tuple[int, int, int, int, int]

ACCOUNT_COLUMNS = (
    "id",
    "code",
    "kind",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
    "striped",
)
TRANSFER_COLUMNS = (
    "id",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "pending_id",
    "reverses_id",
    "code",
    "reference",
    "batch_id",
    "created_at",
)
_ACCOUNTS = ", ".join(ACCOUNT_COLUMNS)
_TRANSFERS = ", ".join(TRANSFER_COLUMNS)
_SET_BALANCES = (
    "debits_pending = {0}, debits_posted = {0}, credits_pending = {0}, credits_posted = {0}"
)


class LedgerSql:
    """The statements the ledger runs, written for one backend's driver."""

    #: Whether striped accounts are read without a lock and written as changes to a stripe.
    stripes = False

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def lock_accounts(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Lock (``FOR UPDATE``, in id order) and read the accounts named, or named by ``refs``;
        striped accounts (with :attr:`stripes`) are read with their stripes, without a lock."""
        raise NotImplementedError

    def load_transfers(self, ids: Sequence[str], refs: Sequence[str]) -> list[dict[str, Any]]:
        """Transfers with these ids or ``refs``, and those resolving or reversing ``refs``."""
        raise NotImplementedError

    def lock_and_load(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str], load: Sequence[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """:meth:`lock_accounts`, then (after the locks) :meth:`load_transfers` of ``load``."""
        return self.lock_accounts(ids, codes, refs), self.load_transfers(load, refs)

    def write(
        self,
        rows: Sequence[dict[str, Any]],
        balances: Sequence[BalanceRow],
        changes: Sequence[BalanceRow] = (),
        stripe: int = 0,
    ) -> bool:
        """Insert the transfers and, only if none of their ids was taken, write the balances.

        ``balances`` rows are (id, debits_pending, debits_posted, credits_pending,
        credits_posted) of locked accounts; ``changes`` the same, as amounts to add to the
        ``stripe`` of striped accounts. Returns whether every transfer was inserted; when not, no
        balance was written (but some transfers may have been: multi-row callers roll back a
        savepoint).
        """
        raise NotImplementedError


class PostgresSql(LedgerSql):
    """PostgreSQL: row locks in id order, one placeholder per value (:func:`_postgres_lock_sql`)."""

    stripes = True

    def lock_accounts(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str]
    ) -> list[dict[str, Any]]:
        names = [*ids, *codes, *refs, *refs]
        self.cursor.execute(_postgres_accounts_sql(len(ids), len(codes), len(refs)), names * 2)
        return _accounts(self.cursor.fetchall())

    def load_transfers(self, ids: Sequence[str], refs: Sequence[str]) -> list[dict[str, Any]]:
        self.cursor.execute(
            _postgres_load_sql(len(ids) + len(refs), len(refs)), [*ids, *refs, *refs, *refs]
        )
        return self._transfers(self.cursor.fetchall())

    def lock_and_load(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str], load: Sequence[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # One statement (:func:`_postgres_lock_and_load_sql`): the transfers it reads are as of
        # its start, which is what a load after the locks would see unless a locked account was
        # changed while the statement waited for its lock; it says so, and then (only then) the
        # transfers are read again, after the locks, as a statement of their own.
        names = [*ids, *codes, *refs, *refs]
        self.cursor.execute(
            _postgres_lock_and_load_sql(len(ids), len(codes), len(refs), len(load)),
            [*names, *names, *load, *refs, *refs, *refs],
        )
        accounts: list[dict[str, Any]] = []
        transfers: list[tuple[Any, ...]] = []
        stale = False
        for row in self.cursor.fetchall():
            if row[0]:
                accounts.append(dict(zip(ACCOUNT_COLUMNS, row[1:_STALE], strict=True)))
                stale = stale or row[_STALE]
            else:
                transfers.append(row[_STALE + 1 :])
        if stale:
            return accounts, self.load_transfers(load, refs)
        return accounts, self._transfers(transfers)

    def _transfers(self, fetched: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        rows = [dict(zip(TRANSFER_COLUMNS, row, strict=True)) for row in fetched]
        for row in rows:
            row["created_at"] = row["created_at"].astimezone(UTC)
        return rows

    def write(
        self,
        rows: Sequence[dict[str, Any]],
        balances: Sequence[BalanceRow],
        changes: Sequence[BalanceRow] = (),
        stripe: int = 0,
    ) -> bool:
        # One statement: the insert and the balance writes travel together, and the writes only
        # happen when every row was inserted.
        values: list[Any] = [row[name] for row in rows for name in TRANSFER_COLUMNS]
        values += [value for account in balances for value in account]
        if changes:  # the stripe's mark follows the changes' rows in the statement
            values += [value for account in changes for value in account]
            values.append(stripe)
        self.cursor.execute(_postgres_write_sql(len(rows), len(balances), len(changes)), values)
        return bool(self.cursor.fetchone()[0] == len(rows))


class SqliteSql(LedgerSql):
    """SQLite: no row locks (``BEGIN IMMEDIATE`` already serialises writers); naive UTC times."""

    UPDATE = f"UPDATE ledger_accounts SET {_SET_BALANCES.format('?')} WHERE id = ?"

    def lock_accounts(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str]
    ) -> list[dict[str, Any]]:
        self.cursor.execute(
            _sqlite_lock_sql(len(ids), len(codes), len(refs)), [*ids, *codes, *refs, *refs]
        )
        return [
            {
                **dict(zip(ACCOUNT_COLUMNS, row, strict=True)),
                "debits_must_not_exceed_credits": bool(row[3]),
                "credits_must_not_exceed_debits": bool(row[4]),
                "striped": bool(row[9]),
            }
            for row in self.cursor.fetchall()
        ]

    def load_transfers(self, ids: Sequence[str], refs: Sequence[str]) -> list[dict[str, Any]]:
        self.cursor.execute(
            _load_sql(len(ids) + len(refs), len(refs), "?"), [*ids, *refs, *refs, *refs]
        )
        rows = [dict(zip(TRANSFER_COLUMNS, row, strict=True)) for row in self.cursor.fetchall()]
        for row in rows:
            row["created_at"] = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
        return rows

    def write(
        self,
        rows: Sequence[dict[str, Any]],
        balances: Sequence[BalanceRow],
        changes: Sequence[BalanceRow] = (),
        stripe: int = 0,
    ) -> bool:
        if changes:
            raise AssertionError("SQLite writes every balance whole: it serialises its writers")
        values = []
        for row in rows:
            for name in TRANSFER_COLUMNS:
                value = row[name]
                if name == "created_at":  # stored as SQLAlchemy stores it: naive UTC text
                    value = value.astimezone(UTC).replace(tzinfo=None)
                    value = value.isoformat(" ", "microseconds")
                values.append(value)
        self.cursor.execute(_insert_sql(len(rows)), values)
        if len(self.cursor.fetchall()) != len(rows):
            return False
        self.cursor.executemany(self.UPDATE, [(*rest, id_) for id_, *rest in balances])
        return True


def _accounts(fetched: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(ACCOUNT_COLUMNS, row, strict=True)) for row in fetched]


def sql_for(connection: Any) -> LedgerSql:
    """The statements for the SQLAlchemy ``connection``'s backend, on its driver cursor.

    Kept in the pooled connection's ``info`` (which SQLAlchemy clears when it replaces the
    driver connection), so the cursor is made once per connection, not once per call.
    """
    pooled = connection.connection
    sql = pooled.info.get(_SQL_KEY)
    if sql is None:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            sql = PostgresSql(RawCursor(pooled.driver_connection))
        elif dialect == "sqlite":
            sql = SqliteSql(pooled.cursor())
        else:
            raise NotImplementedError(f"the ledger runs on SQLite and PostgreSQL, not {dialect}")
        pooled.info[_SQL_KEY] = sql
    return cast(LedgerSql, sql)


_SQL_KEY = "shuxin.ledger_sql"


def _rows(count: int, width: int, mark: str) -> str:
    return ", ".join(["(" + ", ".join([mark] * width) + ")"] * count)


@cache
def _insert_sql(count: int) -> str:
    return (
        f"INSERT INTO ledger_transfers ({_TRANSFERS})"
        f" VALUES {_rows(count, len(TRANSFER_COLUMNS), '?')} ON CONFLICT DO NOTHING RETURNING id"
    )


@cache
def _postgres_write_sql(transfers: int, accounts: int, striped: int = 0) -> str:
    parts = [
        f"WITH inserted AS (INSERT INTO ledger_transfers ({_TRANSFERS})"
        f" VALUES {_rows(transfers, len(TRANSFER_COLUMNS), '%s')}"
        " ON CONFLICT DO NOTHING RETURNING id),"
        " counted AS (SELECT count(*) AS n FROM inserted)"
    ]
    if accounts:
        parts.append(
            ", locked AS (UPDATE ledger_accounts AS a SET debits_pending = v.dp,"
            " debits_posted = v.dpo, credits_pending = v.cp, credits_posted = v.cpo"
            f" FROM (VALUES {_rows(accounts, 5, '%s::bigint')}) AS v (id, dp, dpo, cp, cpo),"
            f" counted WHERE a.id = v.id AND counted.n = {transfers:d} RETURNING a.id)"
        )
    if striped:
        # In account order, so two writers of the same stripes take their locks in one order.
        parts.append(
            ", shared AS (INSERT INTO ledger_account_stripes AS s (account_id, stripe,"
            " debits_pending, debits_posted, credits_pending, credits_posted)"
            " SELECT v.id, st.stripe, v.dp, v.dpo, v.cp, v.cpo"
            f" FROM (VALUES {_rows(striped, 5, '%s::bigint')}) AS v (id, dp, dpo, cp, cpo),"
            " (SELECT %s::smallint AS stripe) AS st, counted"
            f" WHERE counted.n = {transfers:d} ORDER BY v.id"
            " ON CONFLICT (account_id, stripe) DO UPDATE SET"
            " debits_pending = s.debits_pending + excluded.debits_pending,"
            " debits_posted = s.debits_posted + excluded.debits_posted,"
            " credits_pending = s.credits_pending + excluded.credits_pending,"
            " credits_posted = s.credits_posted + excluded.credits_posted"
            " RETURNING s.account_id)"
        )
    parts.append(" SELECT n FROM counted")
    return _numbered("".join(parts))


def _marks(count: int, mark: str = "?") -> str:
    return ", ".join([mark] * count)


@cache
def _postgres_lock_sql(ids: int, codes: int, refs: int) -> str:
    """Lock the accounts named by id, by code, or as the accounts of the transfers ``refs``.

    Scalars, not arrays: the driver dumps a list parameter at several times a scalar's cost,
    and this runs twice per hold-and-post. The statement is cached per shape (so is the
    server's prepared plan). No join or IN-subquery under FOR UPDATE: when a locked row was
    updated meanwhile, PostgreSQL re-checks the WHERE clause on the new row version, and with
    an IN-subquery form the benchmark saw accounts go missing from the result. Plain conditions
    (and an ARRAY(...) init-plan, evaluated once per statement) re-check only the row itself.
    """
    return _numbered(_locking(_ACCOUNTS, ids, codes, refs))


def _locking(columns: str, ids: int, codes: int, refs: int) -> str:
    """:func:`_postgres_lock_sql` with ``%s`` marks, selecting ``columns``."""
    return (
        f"SELECT {columns} FROM ledger_accounts WHERE ({_postgres_names(ids, codes, refs)})"
        " AND NOT striped ORDER BY id FOR UPDATE"
    )


@cache
def _postgres_accounts_sql(ids: int, codes: int, refs: int) -> str:
    """One statement for both: the limited accounts locked (:func:`_postgres_lock_sql`, in a
    CTE, which PostgreSQL runs whole, in id order) and the striped ones with their stripes
    (:func:`_postgres_striped_sql`, unordered: nothing of theirs is locked). Their names are
    bound twice, once per half; the striped half comes first in the text, so the statement reads
    as what it is (``SELECT ledger_accounts … FOR UPDATE``) to the benchmarks' counter.

    The striped half reads as of the statement's start, before any wait for a lock: nothing
    limits those accounts and their writers only add to a stripe, so no decision depends on
    their balances being the latest (the balances returned for them are as of that moment).
    """
    locked = _postgres_lock_sql(ids, codes, refs)
    striped = _postgres_striped_sql(ids, codes, refs).removesuffix(" ORDER BY a.id")
    # The second half's placeholders follow the first half's.
    striped = _renumbered(striped, ids + codes + 2 * refs)
    return f"WITH locked AS ({locked}) {striped} UNION ALL SELECT * FROM locked"


#: The SQL types of :data:`ACCOUNT_COLUMNS` and :data:`TRANSFER_COLUMNS`, for the NULLs that pad
#: one kind of row to the other's columns in :func:`_postgres_lock_and_load_sql`.
_ACCOUNT_NULLS = ", ".join(
    f"NULL::{kind}"
    for kind in ("integer", "varchar", "varchar", "boolean", "boolean")
    + ("bigint",) * 4
    + ("boolean",)
)
_TRANSFER_NULLS = ", ".join(
    f"NULL::{kind}"
    for kind in ("varchar", "varchar", "integer", "integer", "bigint")
    + ("varchar",) * 5
    + ("timestamptz",)
)
#: Where an account row's ``stale`` flag is in a :func:`_postgres_lock_and_load_sql` row: after
#: the kind of row and the account's columns; the transfer's columns follow it.
_STALE = 1 + len(ACCOUNT_COLUMNS)


@cache
def _postgres_lock_and_load_sql(ids: int, codes: int, refs: int, load: int) -> str:
    """:func:`_postgres_accounts_sql` and :func:`_postgres_load_sql` (of ``load`` ids and the
    ``refs``) as one statement, whose rows are ``(is_account, <account columns>, stale,
    <transfer columns>)``, each row padded with NULLs where the other kind has columns.

    Every part reads as of the statement's start but the locked accounts, which are read as
    they are once locked (PostgreSQL re-reads a row it waited for). A locked account whose row
    is not the one the statement started with (``stale``: its ``ctid``, as locked and as of the
    start, differ) was written by a transaction that committed while the statement waited; the
    transfers read may then miss what that transaction wrote, and the caller reads them again.
    Otherwise none of the locked accounts was written since the statement began, so neither was
    any transfer on them: the transfers read are those a read after the locks would find.
    """
    locked = _locking(f"{_ACCOUNTS}, ctid AS version", ids, codes, refs)
    striped = _postgres_striped_sql(
        ids, codes, refs, extra=f", false, {_TRANSFER_NULLS}", number=False
    ).removesuffix(" ORDER BY a.id")
    accounts = ", ".join(f"l.{name}" for name in ACCOUNT_COLUMNS)
    was_locked = (
        f"SELECT true, {accounts}, l.version IS DISTINCT FROM"
        f" (SELECT s.ctid FROM ledger_accounts AS s WHERE s.id = l.id), {_TRANSFER_NULLS}"
        " FROM locked AS l"
    )
    transfers = _load_sql(load + refs, refs, "%s").replace(
        "SELECT ", f"SELECT false, {_ACCOUNT_NULLS}, false, ", 1
    )
    return _numbered(
        f"WITH locked AS ({locked}) SELECT true, {striped.removeprefix('SELECT ')}"
        f" UNION ALL {was_locked} UNION ALL {transfers}"
    )


def _renumbered(statement: str, offset: int) -> str:
    """``$n`` placeholders of a :func:`_numbered` statement, each moved up by ``offset``."""
    return re.sub(r"\$(\d+)", lambda match: f"${int(match.group(1)) + offset}", statement)


@cache
def _postgres_striped_sql(
    ids: int, codes: int, refs: int, *, extra: str = "", number: bool = True
) -> str:
    """The striped accounts among those :func:`_postgres_lock_sql` names, with their stripes
    added, unlocked: nothing limits them, and their writers only add to a stripe."""
    sums = ", ".join(
        f"a.{name} + coalesce(s.{name}, 0)::bigint"
        for name in ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    )
    stripes = ", ".join(
        f"sum({name}) AS {name}"
        for name in ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    )
    # ``id`` and ``code`` below are the account's: the stripes' subquery has neither.
    return _numbered(
        "SELECT a.id, a.code, a.kind, a.debits_must_not_exceed_credits,"
        f" a.credits_must_not_exceed_debits, {sums}, a.striped{extra} FROM ledger_accounts AS a"
        f" LEFT JOIN LATERAL (SELECT {stripes} FROM ledger_account_stripes"
        " WHERE account_id = a.id) AS s ON true"
        f" WHERE ({_postgres_names(ids, codes, refs)}) AND a.striped ORDER BY a.id",
        number=number,
    )


def _postgres_names(ids: int, codes: int, refs: int) -> str:
    conditions = []
    if ids:
        conditions.append(f"id IN ({_marks(ids, '%s')})")
    if codes:
        conditions.append(f"code IN ({_marks(codes, '%s')})")
    if refs:
        conditions.append(
            "id = ANY(ARRAY("
            f"SELECT debit_account_id FROM ledger_transfers WHERE id IN ({_marks(refs, '%s')})"
            " UNION ALL"
            f" SELECT credit_account_id FROM ledger_transfers WHERE id IN ({_marks(refs, '%s')})))"
        )
    return " OR ".join(conditions) or "false"


@cache
def _postgres_load_sql(ids: int, refs: int) -> str:
    return _numbered(_load_sql(ids, refs, "%s"))


def _numbered(statement: str, *, number: bool = True) -> str:
    """``%s`` marks as PostgreSQL's own ``$1, $2, …``, which a raw cursor sends as they are
    (``number=False``: the statement as it is, a part of a larger one numbered later).

    psycopg parses a ``%s`` statement on every call once it has more than 50 parameters (a
    write of a few transfers has more), and a raw cursor skips that parse altogether.
    """
    if not number:
        return statement
    parts = statement.split("%s")
    return "".join(
        part + (f"${index}" if index < len(parts) else "")
        for index, part in enumerate(parts, start=1)
    )


@cache
def _load_sql(ids: int, refs: int, mark: str) -> str:
    """Transfers by id, and those resolving or reversing ``refs``; ``mark`` is the driver's."""
    conditions = []
    if ids:
        conditions.append(f"id IN ({_marks(ids, mark)})")
    if refs:
        conditions.append(f"pending_id IN ({_marks(refs, mark)})")
        conditions.append(f"reverses_id IN ({_marks(refs, mark)})")
    return f"SELECT {_TRANSFERS} FROM ledger_transfers WHERE {' OR '.join(conditions) or 'false'}"


@cache
def _sqlite_lock_sql(ids: int, codes: int, refs: int) -> str:
    # One arm per kind of name, and only for the kinds given: SQLite answers an OR of ``id`` and
    # ``code`` (or an empty IN list) with a scan of every account, each arm alone with an index.
    arms = []
    if ids:
        arms.append(f"SELECT id FROM ledger_accounts WHERE id IN ({_marks(ids)})")
    if codes:
        arms.append(f"SELECT id FROM ledger_accounts WHERE code IN ({_marks(codes)})")
    if refs:
        arms.append(f"SELECT debit_account_id FROM ledger_transfers WHERE id IN ({_marks(refs)})")
        arms.append(f"SELECT credit_account_id FROM ledger_transfers WHERE id IN ({_marks(refs)})")
    names = " UNION ALL ".join(arms) or "SELECT NULL WHERE 0"
    return f"SELECT {_ACCOUNTS} FROM ledger_accounts WHERE id IN ({names}) ORDER BY id"
