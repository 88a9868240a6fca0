"""A batch of transfers applied in memory: the ledger's decisions, with no database.

:mod:`settlement.ledger.ledger` locks the accounts a batch touches and reads the transfers it
refers to; everything here then checks and applies the requests in fen, and what it leaves
(:class:`Batch`'s created transfers and touched balances) is what the ledger writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from insurance.money import MoneyError, from_fen, parse_amount, to_fen
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
from settlement.ledger.model import (
    MAX_CODE_LENGTH,
    MAX_ID_LENGTH,
    Account,
    AccountRef,
    Transfer,
    TransferKind,
    TransferRequest,
    TransferStatus,
)
from settlement.ledger.tables import TRANSFER_KINDS


@dataclass(frozen=True)
class Event:
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
class Stored:
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
    def from_row(cls, row: Any) -> Stored:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass
class AccountState:
    id: int
    code: str
    kind: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    striped: bool = False

    def balances(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


#: An account's id and its four balances (or their changes), in fen.
BalanceRow = tuple[int, int, int, int, int]


@dataclass
class Batch:
    """What the batch sees: locked accounts and the transfers that bear on it, as it changes."""

    accounts: dict[int, AccountState]
    ids_by_code: dict[str, int]
    transfers: dict[str, Stored]
    resolutions: dict[str, Stored]
    reversals: dict[str, Stored]
    created: list[Stored] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    #: Each account's balances as read, before the batch.
    opened: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)

    def account(self, ref: AccountRef | None, side: str) -> AccountState:
        if ref is None:
            raise InvalidTransfer(f"the {side} account is required")
        account_id = ref if isinstance(ref, int) else self.ids_by_code.get(ref)
        if account_id is None or account_id not in self.accounts:
            raise AccountNotFound(f"no ledger account {ref} ({side})", account=ref)
        return self.accounts[account_id]

    def account_id(self, ref: AccountRef) -> int | None:
        account_id = ref if isinstance(ref, int) else self.ids_by_code.get(ref)
        return account_id if account_id in self.accounts else None


def parse(request: TransferRequest) -> Event:
    """The checks that need no database; the amount in fen (``None``: a hold's whole amount)."""
    _check_form(request)
    two_phase = request.kind in ("post_pending", "void_pending")
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
    return Event(
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


def _check_form(request: TransferRequest) -> None:
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


@dataclass(frozen=True)
class Mark:
    """A batch as it stood before a chain, to undo the chain in memory if it fails."""

    accounts: dict[int, AccountState]
    created: int
    touched: frozenset[int]

    @classmethod
    def of(cls, batch: Batch, chain: Sequence[Event]) -> Mark:
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

    def restore(self, batch: Batch) -> None:
        for stored in batch.created[self.created :]:
            del batch.transfers[stored.id]
            if stored.pending_id:
                del batch.resolutions[stored.pending_id]
            if stored.reverses_id:
                del batch.reversals[stored.reverses_id]
        del batch.created[self.created :]
        batch.accounts.update(self.accounts)
        batch.touched = set(self.touched)


def parse_chain(chain: Sequence[TransferRequest]) -> list[Event] | LedgerError:
    events: list[Event] = []
    for index, request in enumerate(chain):
        try:
            events.append(parse(request))
        except LedgerError as error:
            return linked_failure(index, error, len(chain))
    return events


def new_batch(locked: list[dict[str, Any]], known: dict[str, Stored]) -> Batch:
    accounts = {row["id"]: AccountState(**row) for row in locked}
    return Batch(
        opened={account.id: account.balances() for account in accounts.values()},
        accounts=accounts,
        ids_by_code={account.code: account.id for account in accounts.values()},
        transfers=known,
        resolutions={t.pending_id: t for t in known.values() if t.pending_id},
        reversals={t.reverses_id: t for t in known.values() if t.reverses_id},
    )


def apply_event(
    batch: Batch, event: Event, *, created_at: datetime, batch_id: str | None
) -> tuple[TransferStatus, Stored]:
    """Apply one event to the batch in memory, or refuse it; a stored id is judged, not redone."""
    existing = batch.transfers.get(event.id)
    if existing is not None:
        check_same(batch, event, existing)
        return "exists", existing
    if event.kind in ("single_phase", "pending"):
        debit, credit, amount = _move(batch, event)
    else:
        debit, credit, amount = _resolve(batch, event)
    stored = Stored(
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


def _move(batch: Batch, event: Event) -> tuple[AccountState, AccountState, int]:
    """A single-phase transfer or a hold: checked against the limits, then counted."""
    debit = batch.account(event.debit, "debit")
    credit = batch.account(event.credit, "credit")
    if debit.id == credit.id:
        raise AccountsMustBeDifferent("a transfer cannot debit and credit the same account")
    assert event.amount is not None
    amount = event.amount
    if event.reverses_id is not None:
        check_reversal(batch, event, debit, credit)
    check_limits(debit, credit, amount)
    if event.kind == "pending":
        debit.debits_pending += amount
        credit.credits_pending += amount
    else:
        debit.debits_posted += amount
        credit.credits_posted += amount
    return debit, credit, amount


def _resolve(batch: Batch, event: Event) -> tuple[AccountState, AccountState, int]:
    """A post or void of a hold: the hold is released, and a post moves what it names."""
    pending = _open_hold(batch, event)
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
    return debit, credit, amount


def _open_hold(batch: Batch, event: Event) -> Stored:
    """The pending transfer a post or void names, still neither posted nor voided."""
    assert event.pending_id is not None
    pending = batch.transfers.get(event.pending_id)
    if pending is None:
        raise PendingTransferNotFound(
            f"no pending transfer {event.pending_id}", pending_id=event.pending_id
        )
    if pending.kind != "pending":
        raise PendingTransferNotPending(f"transfer {pending.id} is not a pending transfer")
    resolution = batch.resolutions.get(pending.id)
    if resolution is not None and resolution.kind == "post_pending":
        raise PendingTransferAlreadyPosted(
            f"pending transfer {pending.id} was already posted by {resolution.id}"
        )
    if resolution is not None:
        raise PendingTransferAlreadyVoided(
            f"pending transfer {pending.id} was already voided by {resolution.id}"
        )
    return pending


def check_limits(debit: AccountState, credit: AccountState, amount: int) -> None:
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


def check_reversal(batch: Batch, event: Event, debit: AccountState, credit: AccountState) -> None:
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


def check_same(batch: Batch, event: Event, stored: Stored) -> None:
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


def linked_failure(index: int, error: LedgerError, size: int) -> LedgerError:
    return error if size == 1 else LinkedEventFailed(index, error)


def stored_row(stored: Stored) -> dict[str, Any]:
    return {name: getattr(stored, name) for name in Stored.__dataclass_fields__}


def new_balances(batch: Batch) -> list[BalanceRow]:
    """The touched accounts' new balances; their rows are locked, so plain values are safe."""
    return [(account.id, *account.balances()) for account in _touched(batch)]


def balance_writes(batch: Batch) -> tuple[list[BalanceRow], list[BalanceRow]]:
    """What to write: the new balances of the locked accounts, and what the batch changed in
    the striped ones, which were read without a lock (other writers may be adding to them)."""
    locked: list[BalanceRow] = []
    changed: list[BalanceRow] = []
    for account in _touched(batch):
        if not account.striped:
            locked.append((account.id, *account.balances()))
            continue
        dp, dpo, cp, cpo = batch.opened[account.id]
        now = account
        changed.append(
            (
                account.id,
                now.debits_pending - dp,
                now.debits_posted - dpo,
                now.credits_pending - cp,
                now.credits_posted - cpo,
            )
        )
    return locked, changed


def _touched(batch: Batch) -> list[AccountState]:
    return [batch.accounts[i] for i in sorted(batch.touched)]


def accounts_of(batch: Batch) -> dict[str, Account]:
    return {state.code: account_snapshot(vars(state)) for state in batch.accounts.values()}


def account_snapshot(row: Any) -> Account:
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
        striped=bool(row.get("striped", False)),
    )


def transfer_of(stored: Stored) -> Transfer:
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
