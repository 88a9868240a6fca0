"""The ledger's operations: open accounts, create transfers (two-phase, linked), reverse them.

Modelled on TigerBeetle. Every function takes the caller's :class:`~sqlalchemy.orm.Session`,
flushes through it and never commits: the use case's unit of work commits once.

How a batch is applied (:func:`create_transfers`):

1. each request is checked on its own (amount, kind, ids) before the database is touched;
2. inside a SAVEPOINT, every account the batch touches is locked with one
   ``SELECT … ORDER BY id FOR UPDATE`` (PostgreSQL; SQLite writers are already serialised by
   ``BEGIN IMMEDIATE``), so concurrent batches on the same accounts queue instead of deadlocking;
3. after the locks, the batch's ids, the resolutions of the pending transfers it names and the
   reversals of the transfers it reverses are read, so what they say is current;
4. the batch is applied in memory, in order, and checked (limits include pending amounts);
5. the new transfers are inserted and the touched accounts' balances written, or, if anything
   failed in a linked batch, nothing is written and the savepoint is rolled back.

A transfer id that a concurrent writer took between steps 3 and 5 (possible only when the two
requests touch different accounts) surfaces as a unique violation; the savepoint is rolled back
and the batch re-run, so the caller sees ``exists`` or ``exists_with_different_content``, never
an ``IntegrityError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import (
    Table,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from insurance.money import MoneyError, from_fen, parse_amount, to_fen
from settlement.foundation.clock import Clock
from settlement.ledger._sql import LedgerSql, sql_for
from settlement.ledger.errors import (
    AccountNotFound,
    AccountsMustBeDifferent,
    AlreadyReversed,
    ExceedsCredits,
    ExceedsDebits,
    ExceedsPendingTransferAmount,
    ExistsWithDifferentContent,
    InvalidAmount,
    InvalidTransfer,
    LedgerError,
    LinkedEventFailed,
    PendingTransferAlreadyPosted,
    PendingTransferAlreadyVoided,
    PendingTransferHasDifferentAccounts,
    PendingTransferNotFound,
    PendingTransferNotPending,
    TransferNotFound,
    TransferNotReversible,
)
from settlement.ledger.tables import TRANSFER_KINDS, LedgerAccount, LedgerTransfer

TransferKind = Literal["single_phase", "pending", "post_pending", "void_pending"]
TransferStatus = Literal["created", "exists", "failed"]
#: An account named by its ``code`` (``str``) or its id (``int``).
AccountRef = str | int

ACCOUNTS = cast(Table, LedgerAccount.__table__)
TRANSFERS = cast(Table, LedgerTransfer.__table__)

MAX_ID_LENGTH = 128
MAX_ACCOUNT_CODE_LENGTH = 120
MAX_CODE_LENGTH = 32
#: How often a transfer or batch is judged again after losing a race on a transfer id.
RACE_ATTEMPTS = 5


@dataclass(frozen=True, kw_only=True)
class TransferRequest:
    """One transfer as the caller asks for it. Amounts are yuan ``Decimal`` (never ``float``).

    - ``single_phase``: moves ``amount`` from ``debit_account`` to ``credit_account`` at once.
    - ``pending``: holds ``amount`` (counted against limits) until it is posted or voided.
    - ``post_pending``: posts ``amount`` of the pending transfer ``pending_id``; less than the
      pending amount posts part and returns the rest; ``None`` (or zero) posts all of it.
    - ``void_pending``: releases all of ``pending_id``; ``amount`` is ``None`` or the hold's.

    Post and void take their accounts from the pending transfer; accounts given must match.
    ``reverses_id`` marks a single-phase correction of a posted transfer (see :func:`reverse`).
    ``id`` is the caller's idempotency key: the same id with the same content changes nothing.
    """

    id: str
    kind: TransferKind = "single_phase"
    debit_account: AccountRef | None = None
    credit_account: AccountRef | None = None
    amount: Decimal | None = None
    pending_id: str | None = None
    code: str = "transfer"
    reference: str | None = None
    reverses_id: str | None = None


@dataclass(frozen=True)
class Account:
    """A snapshot of an account's balances, in yuan."""

    id: int
    code: str
    kind: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_pending: Decimal
    debits_posted: Decimal
    credits_pending: Decimal
    credits_posted: Decimal

    @property
    def available_debit(self) -> Decimal:
        """What may still be debited before ``debits_must_not_exceed_credits`` refuses."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def available_credit(self) -> Decimal:
        """What may still be credited before ``credits_must_not_exceed_debits`` refuses."""
        return self.debits_posted - self.credits_posted - self.credits_pending


@dataclass(frozen=True)
class Transfer:
    """A stored transfer, in yuan."""

    id: str
    kind: TransferKind
    debit_account_id: int
    credit_account_id: int
    amount: Decimal
    pending_id: str | None
    reverses_id: str | None
    code: str
    reference: str | None
    batch_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class TransferResult:
    """What happened to one request: ``created``, ``exists`` (changed nothing) or ``failed``.

    ``failed`` only appears in unlinked batches (``linked=False``), with ``error`` set.
    """

    index: int
    id: str
    status: TransferStatus
    transfer: Transfer | None = None
    error: LedgerError | None = None


# -- accounts ------------------------------------------------------------------------------------


def open_account(
    session: Session,
    *,
    code: str,
    kind: str,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
    clock: Clock | None = None,
) -> Account:
    """Get or create the account ``code`` (race-safe); an existing one must have the same flags."""
    if not code or len(code) > MAX_ACCOUNT_CODE_LENGTH:
        raise InvalidTransfer(f"an account code has 1 to {MAX_ACCOUNT_CODE_LENGTH} characters")
    if not kind or len(kind) > MAX_CODE_LENGTH:
        raise InvalidTransfer(f"an account kind has 1 to {MAX_CODE_LENGTH} characters")
    if debits_must_not_exceed_credits and credits_must_not_exceed_debits:
        raise InvalidTransfer("an account takes at most one of the two limit flags")
    values: dict[str, Any] = {
        "code": code,
        "kind": kind,
        "debits_must_not_exceed_credits": debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": credits_must_not_exceed_debits,
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
    ):
        raise ExistsWithDifferentContent(
            f"account {code} exists with another kind or other limit flags", account=code
        )
    return account


def get_account(session: Session, account: AccountRef) -> Account:
    """The account named by code or id, with its current balances."""
    column = ACCOUNTS.c.id if isinstance(account, int) else ACCOUNTS.c.code
    row = session.execute(select(ACCOUNTS).where(column == account)).one_or_none()
    if row is None:
        raise AccountNotFound(f"no ledger account {account}", account=account)
    return _account(row._mapping)


def balances(session: Session, codes: Iterable[str]) -> dict[str, Account]:
    """The accounts named by ``codes``, by code; an unknown code is ``account_not_found``."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.execute(select(ACCOUNTS).where(ACCOUNTS.c.code.in_(wanted))).all()
    found = {row.code: _account(row._mapping) for row in rows}
    missing = sorted(wanted - found.keys())
    if missing:
        raise AccountNotFound(f"no ledger account {', '.join(missing)}", accounts=missing)
    return found


def get_transfer(session: Session, transfer_id: str) -> Transfer | None:
    """The transfer with this id, or ``None``."""
    row = session.execute(select(TRANSFERS).where(TRANSFERS.c.id == transfer_id)).one_or_none()
    return None if row is None else _transfer(_Stored.from_row(row._mapping))


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


# -- transfers -----------------------------------------------------------------------------------


def create_transfer(session: Session, request: TransferRequest, *, clock: Clock) -> TransferResult:
    """Create one transfer; a refusal raises its own typed error."""
    return create_transfers(session, [request], clock=clock)[0]


def create_transfers(
    session: Session,
    transfers: Sequence[TransferRequest],
    *,
    clock: Clock,
    linked: bool = True,
    ids_locked: bool = False,
) -> list[TransferResult]:
    """Apply ``transfers`` in order; linked (the default) means all of them or none.

    A linked batch that fails raises :class:`LinkedEventFailed` (with the failing index and its
    error), or the error itself when the batch holds one transfer; the ledger and the caller's
    transaction are then as before. Unlinked, each transfer succeeds or fails on its own and a
    failure is reported as a ``failed`` result.

    ``ids_locked``: the caller holds a lock that keeps every concurrent writer away from these
    transfer ids (they derive from a row it has locked, as a visit's holds do), so no race on an
    id can be lost and the batch runs without its SAVEPOINT (two round trips fewer). Should an id
    be taken anyway, that is a bug: it raises, and the caller's transaction must roll back.
    """
    return _create(session, transfers, clock=clock, linked=linked, ids_locked=ids_locked)[0]


def create_transfers_with_balances(
    session: Session,
    transfers: Sequence[TransferRequest],
    *,
    clock: Clock,
    linked: bool = True,
    ids_locked: bool = False,
) -> tuple[list[TransferResult], dict[str, Account]]:
    """:func:`create_transfers`, also returning the accounts the batch locked, by code, with
    their balances as the batch left them: read under its locks, so a caller that needs what a
    line has left after charging it need not read it again."""
    results, batch = _create(session, transfers, clock=clock, linked=linked, ids_locked=ids_locked)
    return results, {} if batch is None else _accounts_of(batch)


@dataclass(frozen=True)
class ChainOutcome:
    """One chain of :func:`create_transfer_chains`.

    ``error`` is what refused the chain (:class:`LinkedEventFailed`, or the error itself for a
    chain of one), and then ``results`` is empty and the chain left no trace. Otherwise
    ``accounts`` holds the accounts the chain touched, by code, as they stood right after it.
    """

    results: list[TransferResult]
    error: LedgerError | None
    accounts: dict[str, Account]


def create_transfer_chains(
    session: Session, chains: Sequence[Sequence[TransferRequest]], *, clock: Clock
) -> list[ChainOutcome]:
    """Apply several linked chains with one lock of their accounts and one write.

    Each chain is all or nothing on its own, as TigerBeetle's linked events within one request:
    a chain that fails is undone in memory and the next one carries on, seeing the balances the
    earlier ones left. This is how a group of concurrent charges pays for the ledger's two round
    trips once (:mod:`settlement.usecases.charging.groups`).

    As with ``ids_locked=True``, the caller holds locks that keep concurrent writers away from
    every chain's ids; should an id be taken anyway, that is a bug: it raises, and the caller's
    transaction must roll back.
    """
    parsed = [_parse_chain(chain) for chain in chains]
    events = [event for chain in parsed if isinstance(chain, list) for event in chain]
    if not events:
        return [_without_transfers(c if isinstance(c, LedgerError) else None) for c in parsed]
    refs = sorted({ref for event in events for ref in (event.pending_id, event.reverses_id) if ref})
    sql = sql_for(session.connection())
    locked, known = _lock_accounts(sql, events, refs, [event.id for event in events])
    batch = _new_batch(locked, known)
    created_at = clock.now()
    outcomes: list[ChainOutcome] = []
    for chain in parsed:
        if not isinstance(chain, list):
            outcomes.append(_without_transfers(chain))
            continue
        mark = _Mark.of(batch, chain)
        batch_id = chain[0].id if len(chain) > 1 else None
        results: list[TransferResult] = []
        try:
            for index, event in enumerate(chain):
                try:
                    status, stored = _apply_one(
                        batch, event, created_at=created_at, batch_id=batch_id
                    )
                except LedgerError as error:
                    raise _linked_failure(index, error, len(chain)) from None
                results.append(TransferResult(index, event.id, status, transfer=_transfer(stored)))
        except LedgerError as error:
            mark.restore(batch)
            outcomes.append(_without_transfers(error))
            continue
        touched = {
            account
            for stored in batch.created[mark.created :]
            for account in (stored.debit_account_id, stored.credit_account_id)
        }
        accounts = {
            state.code: _account(vars(state))
            for state in (batch.accounts[i] for i in sorted(touched))
        }
        outcomes.append(ChainOutcome(results=results, error=None, accounts=accounts))
    if batch.created and not sql.write([_row(t) for t in batch.created], _balances(batch)):
        raise AssertionError("a transfer id was taken although the caller locked it")
    return outcomes


def _without_transfers(error: LedgerError | None) -> ChainOutcome:
    return ChainOutcome(results=[], error=error, accounts={})


def _parse_chain(chain: Sequence[TransferRequest]) -> list[_Event] | LedgerError:
    events: list[_Event] = []
    for index, request in enumerate(chain):
        try:
            events.append(_parse(request))
        except LedgerError as error:
            return _linked_failure(index, error, len(chain))
    return events


@dataclass(frozen=True)
class _Mark:
    """A batch as it stood before a chain, to undo the chain in memory if it fails."""

    accounts: dict[int, _AccountState]
    created: int
    touched: frozenset[int]

    @classmethod
    def of(cls, batch: _Batch, chain: Sequence[_Event]) -> _Mark:
        """The mark before ``chain``: of the accounts it may change, not all the batch's."""
        ids: set[int | None] = set()
        for event in chain:
            refs = (event.debit, event.credit)
            ids.update(batch.account_id(ref) for ref in refs if ref is not None)
            pending = batch.transfers.get(event.pending_id) if event.pending_id else None
            if pending is not None:
                ids.update((pending.debit_account_id, pending.credit_account_id))
        return cls(
            accounts={i: replace(batch.accounts[i]) for i in ids if i in batch.accounts},
            created=len(batch.created),
            touched=frozenset(batch.touched),
        )

    def restore(self, batch: _Batch) -> None:
        for stored in batch.created[self.created :]:
            del batch.transfers[stored.id]
            if stored.pending_id:
                del batch.resolutions[stored.pending_id]
            if stored.reverses_id:
                del batch.reversals[stored.reverses_id]
        del batch.created[self.created :]
        batch.accounts.update(self.accounts)
        batch.touched = set(self.touched)


def _create(
    session: Session,
    transfers: Sequence[TransferRequest],
    *,
    clock: Clock,
    linked: bool,
    ids_locked: bool,
) -> tuple[list[TransferResult], _Batch | None]:
    """Both public forms: the results, and the batch as it ended (``None`` for no transfers)."""
    if not transfers:
        return [], None
    events: list[tuple[str, _Event | LedgerError]] = []
    for index, request in enumerate(transfers):
        try:
            events.append((request.id, _parse(request)))
        except LedgerError as error:
            if linked:
                raise _linked_failure(index, error, len(transfers)) from None
            events.append((request.id, error))
    created_at = clock.now()
    if len(events) == 1 and isinstance(events[0][1], _Event):
        # One transfer needs no savepoint: nothing is written until every check has passed.
        result, batch = _apply_single(
            sql_for(session.connection()), events[0][1], created_at=created_at
        )
        return [result], batch
    if ids_locked:
        # Nothing is written before every check has passed, so a refusal leaves no trace here.
        try:
            results, batch = _apply(
                sql_for(session.connection()), events, created_at=created_at, linked=linked
            )
        except _LostRace:
            raise AssertionError("a transfer id was taken although the caller locked it") from None
        return results, batch
    for _ in range(RACE_ATTEMPTS):
        try:
            with session.begin_nested():
                sql = sql_for(session.connection())
                results, batch = _apply(sql, events, created_at=created_at, linked=linked)
            return results, batch
        except _LostRace:
            continue  # the savepoint is rolled back; run the batch again, seeing the winner's
    raise AssertionError(f"lost {RACE_ATTEMPTS} races in a row on the same transfer ids")


def reverse(
    session: Session,
    *,
    original_id: str,
    new_id: str,
    clock: Clock,
    code: str = "reversal",
    reference: str | None = None,
) -> TransferResult:
    """Correct a posted transfer with a new single-phase transfer moving its amount back.

    A transfer is reversed at most once (``already_reversed``); the same ``new_id`` again is an
    idempotent retry. Holds are voided, not reversed (``transfer_not_reversible``).
    """
    original = get_transfer(session, original_id)
    if original is None:
        raise TransferNotFound(f"no transfer {original_id} to reverse", transfer_id=original_id)
    request = TransferRequest(
        id=new_id,
        kind="single_phase",
        debit_account=original.credit_account_id,
        credit_account=original.debit_account_id,
        amount=original.amount,
        code=code,
        reference=original.reference if reference is None else reference,
        reverses_id=original_id,
    )
    return create_transfers(session, [request], clock=clock)[0]


# -- internals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    """A request that passed the checks that need no database; amounts in fen."""

    id: str
    kind: TransferKind
    debit: AccountRef | None
    credit: AccountRef | None
    amount: int | None
    pending_id: str | None
    code: str
    reference: str | None
    reverses_id: str | None


@dataclass(frozen=True)
class _Stored:
    id: str
    kind: TransferKind
    debit_account_id: int
    credit_account_id: int
    amount: int
    pending_id: str | None
    reverses_id: str | None
    code: str
    reference: str | None
    batch_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> _Stored:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass
class _AccountState:
    id: int
    code: str
    kind: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int


@dataclass
class _Batch:
    """What the batch sees: locked accounts and the transfers that bear on it, as it changes."""

    accounts: dict[int, _AccountState]
    ids_by_code: dict[str, int]
    transfers: dict[str, _Stored]
    resolutions: dict[str, _Stored]
    reversals: dict[str, _Stored]
    created: list[_Stored] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)

    def account(self, ref: AccountRef | None, side: str) -> _AccountState:
        if ref is None:
            raise InvalidTransfer(f"the {side} account is required")
        account_id = ref if isinstance(ref, int) else self.ids_by_code.get(ref)
        if account_id is None or account_id not in self.accounts:
            raise AccountNotFound(f"no ledger account {ref} ({side})", account=ref)
        return self.accounts[account_id]

    def account_id(self, ref: AccountRef) -> int | None:
        account_id = ref if isinstance(ref, int) else self.ids_by_code.get(ref)
        return account_id if account_id in self.accounts else None


def _parse(request: TransferRequest) -> _Event:
    if not isinstance(request.id, str) or not 0 < len(request.id) <= MAX_ID_LENGTH:
        raise InvalidTransfer(f"a transfer id is a string of 1 to {MAX_ID_LENGTH} characters")
    if request.kind not in TRANSFER_KINDS:
        raise InvalidTransfer(f"unknown transfer kind {request.kind!r}", transfer_id=request.id)
    if not request.code or len(request.code) > MAX_CODE_LENGTH:
        raise InvalidTransfer(f"a transfer code has 1 to {MAX_CODE_LENGTH} characters")
    if request.reference is not None and len(request.reference) > MAX_ID_LENGTH:
        raise InvalidTransfer(f"a reference has at most {MAX_ID_LENGTH} characters")
    two_phase = request.kind in ("post_pending", "void_pending")
    if two_phase and not request.pending_id:
        raise InvalidTransfer(f"a {request.kind} transfer needs a pending_id")
    if not two_phase and request.pending_id is not None:
        raise InvalidTransfer(f"a {request.kind} transfer takes no pending_id")
    if request.reverses_id is not None and request.kind != "single_phase":
        raise InvalidTransfer("a reversal is a single_phase transfer")
    amount: int | None = None
    if request.amount is not None or not two_phase:
        try:
            value = parse_amount(request.amount, allow_zero=two_phase)
        except MoneyError as error:
            raise InvalidAmount(str(error), transfer_id=request.id) from None
        amount = to_fen(value) or None  # zero on a post or void means "the pending amount"
    if not two_phase:
        if request.debit_account is None or request.credit_account is None:
            raise InvalidTransfer(f"a {request.kind} transfer needs both accounts")
        if request.debit_account == request.credit_account:
            raise AccountsMustBeDifferent("a transfer cannot debit and credit the same account")
    return _Event(
        id=request.id,
        kind=request.kind,
        debit=request.debit_account,
        credit=request.credit_account,
        amount=amount,
        pending_id=request.pending_id,
        code=request.code,
        reference=request.reference,
        reverses_id=request.reverses_id,
    )


def _apply_single(
    sql: LedgerSql, event: _Event, *, created_at: datetime
) -> tuple[TransferResult, _Batch]:
    """One transfer: lock, check in memory, then insert (``ON CONFLICT DO NOTHING``) and update.

    If the id turns out to be taken (a retry, or a concurrent writer of the same id), nothing has
    been written yet: the stored transfer is read and the request judged against it.
    """
    refs = [ref for ref in (event.pending_id, event.reverses_id) if ref]
    # Posts, voids and reversals read their references after the locks; a plain transfer reads
    # nothing unless it fails or its insert finds the id taken.
    look = bool(refs)
    locked, known = _lock_accounts(sql, [event], refs, [event.id] if look else None)
    for _ in range(RACE_ATTEMPTS):
        batch = _new_batch(locked, known)
        try:
            status, stored = _apply_one(batch, event, created_at=created_at, batch_id=None)
        except LedgerError:
            if look:
                raise
            # A retry of a stored transfer is "exists", whatever the balances say now.
            look, known = True, _load_transfers(sql, [event.id], refs)
            continue
        if status == "created" and not sql.write([_row(stored)], _balances(batch)):
            # A concurrent writer committed this id since: judge the request against it.
            look, known = True, _load_transfers(sql, [event.id], refs)
            continue
        return TransferResult(0, event.id, status, transfer=_transfer(stored)), batch
    raise AssertionError("unreachable")  # pragma: no cover


def _apply(
    sql: LedgerSql,
    items: list[tuple[str, _Event | LedgerError]],
    *,
    created_at: datetime,
    linked: bool,
) -> tuple[list[TransferResult], _Batch]:
    events = [item for _, item in items if isinstance(item, _Event)]
    refs = sorted({ref for event in events for ref in (event.pending_id, event.reverses_id) if ref})
    # After the locks: the batch's own ids and what its references are, resolve or reverse them.
    locked, known = _lock_accounts(sql, events, refs, [event.id for event in events])
    batch = _new_batch(locked, known)
    batch_id = events[0].id if linked and len(items) > 1 else None
    results: list[TransferResult] = []
    for index, (request_id, item) in enumerate(items):
        if isinstance(item, LedgerError):
            results.append(TransferResult(index, request_id, "failed", error=item))
            continue
        try:
            status, stored = _apply_one(batch, item, created_at=created_at, batch_id=batch_id)
        except LedgerError as error:
            if linked:
                raise _linked_failure(index, error, len(items)) from None
            results.append(TransferResult(index, item.id, "failed", error=error))
            continue
        results.append(TransferResult(index, item.id, status, transfer=_transfer(stored)))
    if batch.created and not sql.write([_row(t) for t in batch.created], _balances(batch)):
        raise _LostRace  # an id taken since the batch looked: the caller rolls back and retries
    return results, batch


def _new_batch(locked: list[dict[str, Any]], known: dict[str, _Stored]) -> _Batch:
    accounts = {row["id"]: _AccountState(**row) for row in locked}
    return _Batch(
        accounts=accounts,
        ids_by_code={account.code: account.id for account in accounts.values()},
        transfers=known,
        resolutions={t.pending_id: t for t in known.values() if t.pending_id},
        reversals={t.reverses_id: t for t in known.values() if t.reverses_id},
    )


def _apply_one(
    batch: _Batch, event: _Event, *, created_at: datetime, batch_id: str | None
) -> tuple[TransferStatus, _Stored]:
    existing = batch.transfers.get(event.id)
    if existing is not None:
        _check_same(batch, event, existing)
        return "exists", existing
    if event.kind in ("single_phase", "pending"):
        debit = batch.account(event.debit, "debit")
        credit = batch.account(event.credit, "credit")
        if debit.id == credit.id:
            raise AccountsMustBeDifferent("a transfer cannot debit and credit the same account")
        assert event.amount is not None
        amount = event.amount
        if event.reverses_id is not None:
            _check_reversal(batch, event, debit, credit)
        _check_limits(debit, credit, amount)
        if event.kind == "pending":
            debit.debits_pending += amount
            credit.credits_pending += amount
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
    else:
        assert event.pending_id is not None
        pending = batch.transfers.get(event.pending_id)
        if pending is None:
            raise PendingTransferNotFound(
                f"no pending transfer {event.pending_id}", pending_id=event.pending_id
            )
        if pending.kind != "pending":
            raise PendingTransferNotPending(f"transfer {pending.id} is not a pending transfer")
        resolution = batch.resolutions.get(pending.id)
        if resolution is not None:
            if resolution.kind == "post_pending":
                raise PendingTransferAlreadyPosted(
                    f"pending transfer {pending.id} was already posted by {resolution.id}"
                )
            raise PendingTransferAlreadyVoided(
                f"pending transfer {pending.id} was already voided by {resolution.id}"
            )
        for ref, side, expected in (
            (event.debit, "debit", pending.debit_account_id),
            (event.credit, "credit", pending.credit_account_id),
        ):
            if ref is not None and batch.account(ref, side).id != expected:
                raise PendingTransferHasDifferentAccounts(
                    f"the {side} account differs from pending transfer {pending.id}'s"
                )
        debit = batch.accounts[pending.debit_account_id]
        credit = batch.accounts[pending.credit_account_id]
        amount = pending.amount if event.amount is None else event.amount
        if amount > pending.amount:
            raise ExceedsPendingTransferAmount(
                f"{from_fen(amount)} is more than the {from_fen(pending.amount)} pending",
                pending_id=pending.id,
            )
        if event.kind == "void_pending" and amount != pending.amount:
            raise InvalidAmount("a void releases the whole pending amount; omit the amount")
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        if event.kind == "post_pending":
            debit.debits_posted += amount
            credit.credits_posted += amount
    stored = _Stored(
        id=event.id,
        kind=event.kind,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        pending_id=event.pending_id,
        reverses_id=event.reverses_id,
        code=event.code,
        reference=event.reference,
        batch_id=batch_id,
        created_at=created_at,
    )
    batch.created.append(stored)
    batch.touched.update((debit.id, credit.id))
    batch.transfers[stored.id] = stored
    if stored.pending_id:
        batch.resolutions[stored.pending_id] = stored
    if stored.reverses_id:
        batch.reversals[stored.reverses_id] = stored
    return "created", stored


def _check_limits(debit: _AccountState, credit: _AccountState, amount: int) -> None:
    # Like TigerBeetle, holds count: pending debits use up the credits as much as posted ones.
    if (
        debit.debits_must_not_exceed_credits
        and debit.debits_pending + debit.debits_posted + amount > debit.credits_posted
    ):
        available = debit.credits_posted - debit.debits_posted - debit.debits_pending
        raise ExceedsCredits(
            f"account {debit.code} has {from_fen(max(available, 0))} available, "
            f"{from_fen(amount)} requested",
            account=debit.code,
            available=str(from_fen(max(available, 0))),
            requested=str(from_fen(amount)),
        )
    if (
        credit.credits_must_not_exceed_debits
        and credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
    ):
        available = credit.debits_posted - credit.credits_posted - credit.credits_pending
        raise ExceedsDebits(
            f"account {credit.code} has {from_fen(max(available, 0))} available, "
            f"{from_fen(amount)} requested",
            account=credit.code,
            available=str(from_fen(max(available, 0))),
            requested=str(from_fen(amount)),
        )


def _check_reversal(
    batch: _Batch, event: _Event, debit: _AccountState, credit: _AccountState
) -> None:
    assert event.reverses_id is not None
    original = batch.transfers.get(event.reverses_id)
    if original is None:
        raise TransferNotFound(f"no transfer {event.reverses_id} to reverse")
    if original.kind not in ("single_phase", "post_pending"):
        raise TransferNotReversible(
            f"transfer {original.id} is {original.kind}: only posted money is reversed "
            "(void a pending transfer instead)"
        )
    reversal = batch.reversals.get(original.id)
    if reversal is not None:
        raise AlreadyReversed(f"transfer {original.id} was already reversed by {reversal.id}")
    if (debit.id, credit.id) != (original.credit_account_id, original.debit_account_id):
        raise InvalidTransfer(f"a reversal of {original.id} moves money back between its accounts")
    if event.amount != original.amount:
        raise InvalidAmount(f"a reversal of {original.id} moves {from_fen(original.amount)}")


def _check_same(batch: _Batch, event: _Event, stored: _Stored) -> None:
    # A post or void without an amount matches whatever amount it resolved with.
    any_amount = event.amount is None and stored.pending_id is not None
    same = (
        event.kind == stored.kind
        and event.code == stored.code
        and event.reference == stored.reference
        and event.pending_id == stored.pending_id
        and event.reverses_id == stored.reverses_id
        and (event.amount == stored.amount or any_amount)
    )
    for ref, expected in (
        (event.debit, stored.debit_account_id),
        (event.credit, stored.credit_account_id),
    ):
        if ref is not None and batch.account_id(ref) != expected:
            same = False
    if not same:
        raise ExistsWithDifferentContent(
            f"transfer {event.id} exists with different content", transfer_id=event.id
        )


def _linked_failure(index: int, error: LedgerError, size: int) -> LedgerError:
    return error if size == 1 else LinkedEventFailed(index, error)


class _LostRace(Exception):
    """A concurrent writer committed one of the batch's ids after the batch looked."""


def _lock_accounts(
    sql: LedgerSql, events: Sequence[_Event], refs: Sequence[str], load: Sequence[str] | None
) -> tuple[list[dict[str, Any]], dict[str, _Stored]]:
    """Lock the accounts the events touch, in id order; then read the transfers in ``load``."""
    ids: set[int] = set()
    codes: set[str] = set()
    for event in events:
        for ref in (event.debit, event.credit):
            if isinstance(ref, int):
                ids.add(ref)
            elif ref is not None:
                codes.add(ref)
    if load is None:
        return sql.lock_accounts(sorted(ids), sorted(codes), refs), {}
    accounts, transfers = sql.lock_and_load(sorted(ids), sorted(codes), refs, load)
    return accounts, {row["id"]: _Stored(**row) for row in transfers}


def _load_transfers(sql: LedgerSql, ids: Sequence[str], refs: Sequence[str]) -> dict[str, _Stored]:
    return {row["id"]: _Stored(**row) for row in sql.load_transfers(ids, refs)}


def _row(stored: _Stored) -> dict[str, Any]:
    return {name: getattr(stored, name) for name in _Stored.__dataclass_fields__}


def _balances(batch: _Batch) -> list[tuple[int, int, int, int, int]]:
    """The touched accounts' new balances; their rows are locked, so plain values are safe."""
    return [
        (
            account.id,
            account.debits_pending,
            account.debits_posted,
            account.credits_pending,
            account.credits_posted,
        )
        for account in (batch.accounts[i] for i in sorted(batch.touched))
    ]


def _accounts_of(batch: _Batch) -> dict[str, Account]:
    return {state.code: _account(vars(state)) for state in batch.accounts.values()}


def _account(row: Any) -> Account:
    return Account(
        id=row["id"],
        code=row["code"],
        kind=row["kind"],
        debits_must_not_exceed_credits=bool(row["debits_must_not_exceed_credits"]),
        credits_must_not_exceed_debits=bool(row["credits_must_not_exceed_debits"]),
        debits_pending=from_fen(row["debits_pending"]),
        debits_posted=from_fen(row["debits_posted"]),
        credits_pending=from_fen(row["credits_pending"]),
        credits_posted=from_fen(row["credits_posted"]),
    )


def _transfer(stored: _Stored) -> Transfer:
    return Transfer(
        id=stored.id,
        kind=stored.kind,
        debit_account_id=stored.debit_account_id,
        credit_account_id=stored.credit_account_id,
        amount=from_fen(stored.amount),
        pending_id=stored.pending_id,
        reverses_id=stored.reverses_id,
        code=stored.code,
        reference=stored.reference,
        batch_id=stored.batch_id,
        created_at=stored.created_at,
    )
