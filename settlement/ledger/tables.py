"""Ledger tables: accounts with four balances, and immutable transfers between them.

Amounts are integer fen. ``ledger_accounts.id`` is the lock order: every writer locks the accounts
it touches in ascending id. A transfer is never updated or deleted; a database trigger on both
SQLite and PostgreSQL refuses it (installed with the table, see :data:`IMMUTABILITY_DDL`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    event,
    false,
    func,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import Table

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

#: The transfer kinds, after TigerBeetle's flags.
TRANSFER_KINDS = ("single_phase", "pending", "post_pending", "void_pending")


class LedgerAccount(Base):
    """An account: debits and credits, each pending and posted, in fen."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Balances kept in :class:`LedgerAccountStripe` rows too (see there); only without limits.
    striped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    debits_pending: Mapped[int] = mapped_column(FenColumn, default=0)
    debits_posted: Mapped[int] = mapped_column(FenColumn, default=0)
    credits_pending: Mapped[int] = mapped_column(FenColumn, default=0)
    credits_posted: Mapped[int] = mapped_column(FenColumn, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="balances_not_negative",
        ),
        CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="one_limit_flag",
        ),
        CheckConstraint(
            "NOT (striped AND (debits_must_not_exceed_credits OR credits_must_not_exceed_debits))",
            name="striped_without_limits",
        ),
    )


class LedgerAccountStripe(Base):
    """Part of a shared account's balances: what the transfers of some transactions added.

    An account every payment touches (the pooled fund, a wallet provider's clearing account)
    would make all payments queue on its one row, each holding the row's lock until it commits.
    Such an account has no limit, so nothing needs its balance under a lock: each transaction
    adds its changes to one of :data:`STRIPES` rows instead (chosen by its transfers' ids), and
    the account's balance is its own row plus the sum of its stripes. The amounts are signed
    changes, so a stripe may be negative where the account is not.
    """

    __tablename__ = "ledger_account_stripes"

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    debits_pending: Mapped[int] = mapped_column(FenColumn, default=0)
    debits_posted: Mapped[int] = mapped_column(FenColumn, default=0)
    credits_pending: Mapped[int] = mapped_column(FenColumn, default=0)
    credits_posted: Mapped[int] = mapped_column(FenColumn, default=0)


#: How many rows a striped account's balance is spread over.
STRIPES = 16


class LedgerTransfer(Base):
    """An immutable movement of ``amount`` fen from ``debit_account_id`` to ``credit_account_id``.

    ``pending_id`` (unique) points a post or void at the pending transfer it resolves, so a pending
    transfer resolves at most once even under races. ``reverses_id`` (unique) points a correction
    at the transfer it reverses, so a transfer is reversed at most once.
    """

    __tablename__ = "ledger_transfers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(FenColumn)
    kind: Mapped[str] = mapped_column(String(16))
    pending_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_transfers.id"), unique=True, default=None
    )
    reverses_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_transfers.id"), unique=True, default=None
    )
    code: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    batch_id: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("debit_account_id <> credit_account_id", name="accounts_different"),
        CheckConstraint(
            "kind IN ('single_phase', 'pending', 'post_pending', 'void_pending')", name="kind"
        ),
        CheckConstraint(
            "(pending_id IS NULL) = (kind IN ('single_phase', 'pending'))",
            name="pending_id_for_post_and_void",
        ),
        Index("ix_ledger_transfers_kind_created_at", "kind", "created_at"),
    )


#: The DDL that makes ``ledger_transfers`` append-only, per dialect. Migrations run the same
#: statements (``op.execute``) as ``create_all`` does through the ``after_create`` event below.
IMMUTABILITY_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers "
        "BEGIN SELECT RAISE(ABORT, 'ledger transfers are immutable: post a reversal'); END",
        "CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers "
        "BEGIN SELECT RAISE(ABORT, 'ledger transfers are immutable: post a reversal'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION ledger_transfers_immutable() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'ledger transfers are immutable: post a reversal' "
        "USING ERRCODE = 'restrict_violation'; END $$",
        "DROP TRIGGER IF EXISTS ledger_transfers_immutable ON ledger_transfers",
        "CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE ON ledger_transfers "
        "FOR EACH ROW EXECUTE FUNCTION ledger_transfers_immutable()",
    ),
}


def install_immutability_triggers(connection: Connection) -> None:
    """Create the triggers that refuse UPDATE and DELETE on ``ledger_transfers``."""
    for statement in IMMUTABILITY_DDL.get(connection.dialect.name, ()):
        connection.execute(text(statement))


def _after_create(target: Table, connection: Connection, **_: Any) -> None:
    install_immutability_triggers(connection)


event.listen(LedgerTransfer.__table__, "after_create", _after_create)
