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

import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from settlement.foundation.clock import Clock
from settlement.ledger._sql import LedgerSql, sql_for
from settlement.ledger.accounts import (
    ACCOUNT_BALANCES,
    ACCOUNT_STRIPES,
    ACCOUNTS,
    TRANSFERS,
    balances,
    get_account,
    get_transfer,
    get_transfers,
    open_account,
    open_accounts,
    pending_status,
)
from settlement.ledger.batch import (
    Batch,
    Event,
    Mark,
    Stored,
    account_snapshot,
    accounts_of,
    apply_event,
    balance_writes,
    linked_failure,
    new_balances,
    new_batch,
    parse,
    parse_chain,
    stored_row,
    transfer_of,
)
from settlement.ledger.errors import (
    AccountNotFound,
    LedgerError,
    LinkedEventFailed,
    TransferNotFound,
)
from settlement.ledger.model import (
    Account,
    AccountRef,
    ChainOutcome,
    Transfer,
    TransferKind,
    TransferRequest,
    TransferResult,
    TransferStatus,
)
from settlement.ledger.tables import STRIPES

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_BALANCES",
    "ACCOUNT_STRIPES",
    "TRANSFERS",
    "Account",
    "AccountRef",
    "ChainOutcome",
    "Transfer",
    "TransferKind",
    "TransferRequest",
    "TransferResult",
    "TransferStatus",
    "balances",
    "create_transfer",
    "create_transfer_chains",
    "create_transfers",
    "create_transfers_with_balances",
    "get_account",
    "get_transfer",
    "get_transfers",
    "open_account",
    "pending_status",
    "reverse",
]

RACE_ATTEMPTS = 5


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
    fresh_ids: bool = False,
    open_missing: Mapping[str, str] | None = None,
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

    ``fresh_ids`` (with ``ids_locked``): the ids were never used, since they derive from an id
    made in this transaction (a new settlement's), so there is nothing stored to judge a retry
    against and the batch's ids are not looked up (one statement fewer). Only for transfers that
    name no other (no post, void or reversal); an id taken anyway raises as above.

    ``open_missing``: accounts with no limit (code → kind, see :func:`open_accounts`) to open if
    the batch finds one of them missing, and then the batch is run again. A refused batch has
    written nothing, so the second run is the first that writes; where the accounts exist (all
    but the first time), opening them costs no statement.
    """
    if fresh_ids and not ids_locked:
        raise ValueError("fresh_ids needs ids_locked: fresh ids are the caller's alone")
    try:
        return _create(
            session, transfers, clock=clock, linked=linked, ids_locked=ids_locked, fresh=fresh_ids
        )[0]
    except LedgerError as error:
        if not open_missing or not _names_missing(error, open_missing):
            raise
    open_accounts(session, open_missing)
    return _create(
        session, transfers, clock=clock, linked=linked, ids_locked=ids_locked, fresh=fresh_ids
    )[0]


def _names_missing(error: LedgerError, codes: Mapping[str, str]) -> bool:
    """Whether ``error`` (or, for a linked batch, its failing transfer's) is one of ``codes``
    not found."""
    cause = error.error if isinstance(error, LinkedEventFailed) else error
    return isinstance(cause, AccountNotFound) and cause.details.get("account") in codes


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
    return results, {} if batch is None else accounts_of(batch)


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
    parsed = [parse_chain(chain) for chain in chains]
    events = [event for chain in parsed if isinstance(chain, list) for event in chain]
    if not events:
        return [_without_transfers(c if isinstance(c, LedgerError) else None) for c in parsed]
    refs = sorted({ref for event in events for ref in (event.pending_id, event.reverses_id) if ref})
    sql = sql_for(session.connection())
    locked, known = _lock_accounts(sql, events, refs, [event.id for event in events])
    batch = new_batch(locked, known)
    created_at = clock.now()
    outcomes: list[ChainOutcome] = []
    for chain in parsed:
        if not isinstance(chain, list):
            outcomes.append(_without_transfers(chain))
            continue
        mark = Mark.of(batch, chain)
        batch_id = chain[0].id if len(chain) > 1 else None
        results: list[TransferResult] = []
        try:
            for index, event in enumerate(chain):
                try:
                    status, stored = apply_event(
                        batch, event, created_at=created_at, batch_id=batch_id
                    )
                except LedgerError as error:
                    raise linked_failure(index, error, len(chain)) from None
                results.append(
                    TransferResult(index, event.id, status, transfer=transfer_of(stored))
                )
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
            state.code: account_snapshot(vars(state))
            for state in (batch.accounts[i] for i in sorted(touched))
        }
        outcomes.append(ChainOutcome(results=results, error=None, accounts=accounts))
    if batch.created and not _write(sql, batch):
        raise AssertionError("a transfer id was taken although the caller locked it")
    return outcomes


def _without_transfers(error: LedgerError | None) -> ChainOutcome:
    return ChainOutcome(results=[], error=error, accounts={})


def _create(
    session: Session,
    transfers: Sequence[TransferRequest],
    *,
    clock: Clock,
    linked: bool,
    ids_locked: bool,
    fresh: bool = False,
) -> tuple[list[TransferResult], Batch | None]:
    """Both public forms: the results, and the batch as it ended (``None`` for no transfers)."""
    if not transfers:
        return [], None
    events: list[tuple[str, Event | LedgerError]] = []
    for index, request in enumerate(transfers):
        try:
            events.append((request.id, parse(request)))
        except LedgerError as error:
            if linked:
                raise linked_failure(index, error, len(transfers)) from None
            events.append((request.id, error))
    created_at = clock.now()
    if len(events) == 1 and isinstance(events[0][1], Event):
        # One transfer needs no savepoint: nothing is written until every check has passed.
        result, batch = _apply_single(
            sql_for(session.connection()), events[0][1], created_at=created_at
        )
        return [result], batch
    if ids_locked:
        # Nothing is written before every check has passed, so a refusal leaves no trace here.
        try:
            results, batch = _apply(
                sql_for(session.connection()),
                events,
                created_at=created_at,
                linked=linked,
                fresh=fresh,
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


def _apply_single(
    sql: LedgerSql, event: Event, *, created_at: datetime
) -> tuple[TransferResult, Batch]:
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
        batch = new_batch(locked, known)
        try:
            status, stored = apply_event(batch, event, created_at=created_at, batch_id=None)
        except LedgerError:
            if look:
                raise
            # A retry of a stored transfer is "exists", whatever the balances say now.
            look, known = True, _load_transfers(sql, [event.id], refs)
            continue
        if status == "created" and not _write(sql, batch):
            # A concurrent writer committed this id since: judge the request against it.
            look, known = True, _load_transfers(sql, [event.id], refs)
            continue
        return TransferResult(0, event.id, status, transfer=transfer_of(stored)), batch
    raise AssertionError("unreachable")  # pragma: no cover


def _apply(
    sql: LedgerSql,
    items: list[tuple[str, Event | LedgerError]],
    *,
    created_at: datetime,
    linked: bool,
    fresh: bool = False,
) -> tuple[list[TransferResult], Batch]:
    events = [item for _, item in items if isinstance(item, Event)]
    refs = sorted({ref for event in events for ref in (event.pending_id, event.reverses_id) if ref})
    if fresh and refs:
        raise ValueError("fresh ids are for transfers that name no other")
    # After the locks: the batch's own ids and what its references are, resolve or reverse them
    # (fresh ids, never used, need no look).
    load = None if fresh else [event.id for event in events]
    locked, known = _lock_accounts(sql, events, refs, load)
    batch = new_batch(locked, known)
    batch_id = events[0].id if linked and len(items) > 1 else None
    results: list[TransferResult] = []
    for index, (request_id, item) in enumerate(items):
        if isinstance(item, LedgerError):
            results.append(TransferResult(index, request_id, "failed", error=item))
            continue
        try:
            status, stored = apply_event(batch, item, created_at=created_at, batch_id=batch_id)
        except LedgerError as error:
            if linked:
                raise linked_failure(index, error, len(items)) from None
            results.append(TransferResult(index, item.id, "failed", error=error))
            continue
        results.append(TransferResult(index, item.id, status, transfer=transfer_of(stored)))
    if batch.created and not _write(sql, batch):
        raise _LostRace  # an id taken since the batch looked: the caller rolls back and retries
    return results, batch


class _LostRace(Exception):
    """A concurrent writer committed one of the batch's ids after the batch looked."""


def _lock_accounts(
    sql: LedgerSql, events: Sequence[Event], refs: Sequence[str], load: Sequence[str] | None
) -> tuple[list[dict[str, Any]], dict[str, Stored]]:
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
    return accounts, {row["id"]: Stored(**row) for row in transfers}


def _load_transfers(sql: LedgerSql, ids: Sequence[str], refs: Sequence[str]) -> dict[str, Stored]:
    return {row["id"]: Stored(**row) for row in sql.load_transfers(ids, refs)}


def _write(sql: LedgerSql, batch: Batch) -> bool:
    """Write what the batch created; ``False`` if one of its ids was taken meanwhile."""
    rows = [stored_row(stored) for stored in batch.created]
    if not sql.stripes:
        return sql.write(rows, new_balances(batch))
    locked, changed = balance_writes(batch)
    # One stripe per batch, the same for a retry of it: which one only spreads the writers.
    stripe = zlib.crc32(batch.created[0].id.encode()) % STRIPES
    return sql.write(rows, locked, changed, stripe)
