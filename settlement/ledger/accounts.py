"""The ledger's accounts: open one, and read balances and transfers as they stand.

A striped account's balance is its row plus its stripes (:class:`~.tables.LedgerAccountStripe`),
on every read here and in ``shuxin ledger verify``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

from sqlalchemy import Table, case, func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from settlement.foundation.clock import Clock
from settlement.ledger.batch import Stored, account_snapshot, transfer_of
from settlement.ledger.chart import SHARED_KINDS
from settlement.ledger.errors import (
    AccountNotFound,
    ExistsWithDifferentContent,
    InvalidTransfer,
    PendingTransferNotFound,
    PendingTransferNotPending,
)
from settlement.ledger.model import (
    MAX_ACCOUNT_CODE_LENGTH,
    MAX_CODE_LENGTH,
    Account,
    AccountRef,
    Transfer,
)
from settlement.ledger.tables import LedgerAccount, LedgerAccountStripe, LedgerTransfer

ACCOUNTS = cast(Table, LedgerAccount.__table__)
TRANSFERS = cast(Table, LedgerTransfer.__table__)
ACCOUNT_STRIPES = cast(Table, LedgerAccountStripe.__table__)

BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def _with_stripe(name: str) -> Any:
    added = (
        select(func.coalesce(func.sum(ACCOUNT_STRIPES.c[name]), 0))
        .where(ACCOUNT_STRIPES.c.account_id == ACCOUNTS.c.id)
        .scalar_subquery()
    )
    # Only a striped account's stripes are summed: a plain account's read stays one index lookup
    # (CASE evaluates the subquery only on the branch taken).
    return case((ACCOUNTS.c.striped, ACCOUNTS.c[name] + added), else_=ACCOUNTS.c[name]).label(name)


#: Accounts as their balances stand: a striped account's row plus its stripes.
ACCOUNT_BALANCES = select(
    *(column for column in ACCOUNTS.c if column.name not in BALANCES),
    *(_with_stripe(name) for name in BALANCES),
)


# -- accounts ------------------------------------------------------------------------------------


def open_account(
    session: Session,
    *,
    code: str,
    kind: str,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
    striped: bool | None = None,
    clock: Clock | None = None,
) -> Account:
    """Get or create the account ``code`` (race-safe); an existing one must have the same flags.

    ``striped`` (by default: for the chart's shared kinds) spreads the balances of an account
    with no limit over stripe rows, so its writers never wait for each other.
    """
    limited = debits_must_not_exceed_credits or credits_must_not_exceed_debits
    if striped is None:
        striped = kind in SHARED_KINDS and not limited
    _check_account(code, kind, debits_must_not_exceed_credits, credits_must_not_exceed_debits)
    if striped and limited:
        raise InvalidTransfer("a striped account has no limit: nothing reads it under a lock")
    values: dict[str, Any] = {
        "code": code,
        "kind": kind,
        "debits_must_not_exceed_credits": debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": credits_must_not_exceed_debits,
        "striped": striped,
        "debits_pending": 0,
        "debits_posted": 0,
        "credits_pending": 0,
        "credits_posted": 0,
    }
    if clock is not None:
        values["created_at"] = clock.now()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            postgresql_insert(ACCOUNTS)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["code"])
        )
    elif dialect == "sqlite":
        session.execute(
            sqlite_insert(ACCOUNTS).values(**values).on_conflict_do_nothing(index_elements=["code"])
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        try:
            with session.begin_nested():
                session.execute(insert(ACCOUNTS).values(**values))
        except IntegrityError:
            pass
    account = get_account(session, code)
    if (
        account.kind != kind
        or account.debits_must_not_exceed_credits != debits_must_not_exceed_credits
        or account.credits_must_not_exceed_debits != credits_must_not_exceed_debits
        or account.striped != striped
    ):
        raise ExistsWithDifferentContent(
            f"account {code} exists with another kind or other limit flags", account=code
        )
    return account


def open_accounts(session: Session, kinds: Mapping[str, str]) -> None:
    """Open the accounts ``kinds`` names (code → kind) that do not exist yet, in one statement.

    For accounts with no limit (a payment's sources): each is striped when its kind is one of the
    chart's shared kinds, as :func:`open_account` would open it. An account that exists is left
    as it is and not read back (nor compared: the chart gives each code its kind); use
    :func:`open_account` to have it checked.
    """
    rows = []
    for code, kind in sorted(kinds.items()):
        _check_account(code, kind, False, False)
        rows.append(
            {
                "code": code,
                "kind": kind,
                "debits_must_not_exceed_credits": False,
                "credits_must_not_exceed_debits": False,
                "striped": kind in SHARED_KINDS,
                **dict.fromkeys(BALANCES, 0),
            }
        )
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - only these two are supported
        for code, kind in kinds.items():
            open_account(session, code=code, kind=kind)
        return
    insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert_into(ACCOUNTS).values(rows).on_conflict_do_nothing(index_elements=["code"])
    )


def _check_account(code: str, kind: str, debits_limited: bool, credits_limited: bool) -> None:
    if not code or len(code) > MAX_ACCOUNT_CODE_LENGTH:
        raise InvalidTransfer(f"an account code has 1 to {MAX_ACCOUNT_CODE_LENGTH} characters")
    if not kind or len(kind) > MAX_CODE_LENGTH:
        raise InvalidTransfer(f"an account kind has 1 to {MAX_CODE_LENGTH} characters")
    if debits_limited and credits_limited:
        raise InvalidTransfer("an account takes at most one of the two limit flags")


def get_account(session: Session, account: AccountRef) -> Account:
    """The account named by code or id, with its current balances."""
    column = ACCOUNTS.c.id if isinstance(account, int) else ACCOUNTS.c.code
    row = session.execute(ACCOUNT_BALANCES.where(column == account)).one_or_none()
    if row is None:
        raise AccountNotFound(f"no ledger account {account}", account=account)
    return account_snapshot(row._mapping)


def balances(session: Session, codes: Iterable[str]) -> dict[str, Account]:
    """The accounts named by ``codes``, by code; an unknown code is ``account_not_found``."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.execute(ACCOUNT_BALANCES.where(ACCOUNTS.c.code.in_(wanted))).all()
    found = {row.code: account_snapshot(row._mapping) for row in rows}
    missing = sorted(wanted - found.keys())
    if missing:
        raise AccountNotFound(f"no ledger account {', '.join(missing)}", accounts=missing)
    return found


def get_transfer(session: Session, transfer_id: str) -> Transfer | None:
    """The transfer with this id, or ``None``."""
    row = session.execute(select(TRANSFERS).where(TRANSFERS.c.id == transfer_id)).one_or_none()
    return None if row is None else transfer_of(Stored.from_row(row._mapping))


def get_transfers(session: Session, transfer_ids: Iterable[str]) -> dict[str, Transfer]:
    """The transfers with these ids that exist, by id, in one statement."""
    wanted = sorted(set(transfer_ids))
    if not wanted:
        return {}
    rows = session.execute(select(TRANSFERS).where(TRANSFERS.c.id.in_(wanted)))
    return {row.id: transfer_of(Stored.from_row(row._mapping)) for row in rows}


def pending_status(session: Session, pending_id: str) -> Literal["pending", "posted", "voided"]:
    """Whether the pending transfer ``pending_id`` is still pending, posted or voided."""
    pending = get_transfer(session, pending_id)
    if pending is None:
        raise PendingTransferNotFound(f"no transfer {pending_id}", pending_id=pending_id)
    if pending.kind != "pending":
        raise PendingTransferNotPending(f"transfer {pending_id} is not a pending transfer")
    kind = session.execute(
        select(TRANSFERS.c.kind).where(TRANSFERS.c.pending_id == pending_id)
    ).scalar_one_or_none()
    if kind is None:
        return "pending"
    return "posted" if kind == "post_pending" else "voided"
