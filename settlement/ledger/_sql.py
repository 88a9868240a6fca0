# ruff: noqa: S608 - statements are assembled from this module's constants; values are all bound
"""The ledger's hot path in plain SQL on the driver's cursor, one flavour per backend.

Why not SQLAlchemy Core here: each Core execution costs ~0.2 ms of Python before the driver is
reached, and a hold or a post is four or five statements; on the driver's cursor the same
statements cost a tenth of that, which is most of the difference between the ledger keeping up
with ``pgbench`` or not (see ``tests/bench/ledger.py``). The statements run on the connection of
the caller's session, inside its transaction; the tables are those of :mod:`.tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

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

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def lock_accounts(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Lock (``FOR UPDATE``, in id order) and read the accounts named, or named by ``refs``."""
        raise NotImplementedError

    def load_transfers(self, ids: Sequence[str], refs: Sequence[str]) -> list[dict[str, Any]]:
        """Transfers with these ids or ``refs``, and those resolving or reversing ``refs``."""
        raise NotImplementedError

    def insert_transfers(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert, skipping rows whose id (or pending_id, reverses_id) is taken; count inserted."""
        raise NotImplementedError

    def update_balances(self, accounts: Sequence[tuple[int, int, int, int, int]]) -> None:
        """Write (id, debits_pending, debits_posted, credits_pending, credits_posted) rows."""
        raise NotImplementedError


class PostgresSql(LedgerSql):
    LOCK = (
        f"SELECT {_ACCOUNTS} FROM ledger_accounts WHERE id IN ("
        " SELECT id FROM ledger_accounts WHERE id = ANY(%(ids)s::bigint[])"
        " OR code = ANY(%(codes)s::text[])"
        " UNION ALL SELECT debit_account_id FROM ledger_transfers WHERE id = ANY(%(refs)s::text[])"
        " UNION ALL SELECT credit_account_id FROM ledger_transfers WHERE id = ANY(%(refs)s::text[])"
        ") ORDER BY id FOR UPDATE"
    )
    LOAD = (
        f"SELECT {_TRANSFERS} FROM ledger_transfers WHERE id = ANY(%(ids)s::text[])"
        " OR pending_id = ANY(%(refs)s::text[]) OR reverses_id = ANY(%(refs)s::text[])"
    )
    UPDATE = f"UPDATE ledger_accounts SET {_SET_BALANCES.format('%s')} WHERE id = %s"

    def lock_accounts(
        self, ids: Sequence[int], codes: Sequence[str], refs: Sequence[str]
    ) -> list[dict[str, Any]]:
        self.cursor.execute(self.LOCK, {"ids": list(ids), "codes": list(codes), "refs": list(refs)})
        return [dict(zip(ACCOUNT_COLUMNS, row, strict=True)) for row in self.cursor.fetchall()]

    def load_transfers(self, ids: Sequence[str], refs: Sequence[str]) -> list[dict[str, Any]]:
        self.cursor.execute(self.LOAD, {"ids": [*ids, *refs], "refs": list(refs)})
        rows = [dict(zip(TRANSFER_COLUMNS, row, strict=True)) for row in self.cursor.fetchall()]
        for row in rows:
            row["created_at"] = row["created_at"].astimezone(UTC)
        return rows

    def insert_transfers(self, rows: Sequence[dict[str, Any]]) -> int:
        self.cursor.execute(
            _insert_sql(len(rows), "%s"),
            [row[name] for row in rows for name in TRANSFER_COLUMNS],
        )
        return len(self.cursor.fetchall())

    def update_balances(self, accounts: Sequence[tuple[int, int, int, int, int]]) -> None:
        self.cursor.executemany(self.UPDATE, [(*balances, id_) for id_, *balances in accounts])


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
            }
            for row in self.cursor.fetchall()
        ]

    def load_transfers(self, ids: Sequence[str], refs: Sequence[str]) -> list[dict[str, Any]]:
        self.cursor.execute(
            _sqlite_load_sql(len(ids) + len(refs), len(refs)), [*ids, *refs, *refs, *refs]
        )
        rows = [dict(zip(TRANSFER_COLUMNS, row, strict=True)) for row in self.cursor.fetchall()]
        for row in rows:
            row["created_at"] = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
        return rows

    def insert_transfers(self, rows: Sequence[dict[str, Any]]) -> int:
        values = []
        for row in rows:
            for name in TRANSFER_COLUMNS:
                value = row[name]
                if name == "created_at":  # stored as SQLAlchemy stores it: naive UTC text
                    value = (
                        value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
                    )
                values.append(value)
        self.cursor.execute(_insert_sql(len(rows), "?"), values)
        return len(self.cursor.fetchall())

    def update_balances(self, accounts: Sequence[tuple[int, int, int, int, int]]) -> None:
        self.cursor.executemany(self.UPDATE, [(*balances, id_) for id_, *balances in accounts])


def sql_for(connection: Any) -> LedgerSql:
    """The statements for the SQLAlchemy ``connection``'s backend, on its driver cursor."""
    cursor = connection.connection.cursor()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return PostgresSql(cursor)
    if dialect == "sqlite":
        return SqliteSql(cursor)
    raise NotImplementedError(f"the ledger runs on SQLite and PostgreSQL, not {dialect}")


@cache
def _insert_sql(count: int, mark: str) -> str:
    row = "(" + ", ".join([mark] * len(TRANSFER_COLUMNS)) + ")"
    return (
        f"INSERT INTO ledger_transfers ({_TRANSFERS}) VALUES {', '.join([row] * count)}"
        " ON CONFLICT DO NOTHING RETURNING id"
    )


def _marks(count: int) -> str:
    return ", ".join(["?"] * count)


@cache
def _sqlite_lock_sql(ids: int, codes: int, refs: int) -> str:
    return (
        f"SELECT {_ACCOUNTS} FROM ledger_accounts WHERE id IN ("
        f" SELECT id FROM ledger_accounts WHERE id IN ({_marks(ids)}) OR code IN ({_marks(codes)})"
        f" UNION ALL SELECT debit_account_id FROM ledger_transfers WHERE id IN ({_marks(refs)})"
        f" UNION ALL SELECT credit_account_id FROM ledger_transfers WHERE id IN ({_marks(refs)})"
        ") ORDER BY id"
    )


@cache
def _sqlite_load_sql(ids: int, refs: int) -> str:
    return (
        f"SELECT {_TRANSFERS} FROM ledger_transfers WHERE id IN ({_marks(ids)})"
        f" OR pending_id IN ({_marks(refs)}) OR reverses_id IN ({_marks(refs)})"
    )
