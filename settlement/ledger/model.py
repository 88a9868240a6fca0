"""The ledger's values: what a caller asks for and what it gets back, in yuan ``Decimal``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from settlement.ledger.errors import LedgerError

TransferKind = Literal["single_phase", "pending", "post_pending", "void_pending"]
TransferStatus = Literal["created", "exists", "failed"]
#: An account named by its ``code`` (``str``) or its id (``int``).
AccountRef = str | int

MAX_ID_LENGTH = 128
MAX_ACCOUNT_CODE_LENGTH = 120
MAX_CODE_LENGTH = 32


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
    #: Its balances are spread over stripe rows (a shared account with no limit).
    striped: bool = False

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
