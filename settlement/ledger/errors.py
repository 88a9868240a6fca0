"""The ledger's refusals: one class per stable ``code``, after TigerBeetle's result codes."""

from __future__ import annotations

from typing import Any, ClassVar

from settlement.foundation.errors import ServiceError


class LedgerError(ServiceError):
    """A transfer or account the ledger refuses; the ledger is unchanged."""

    error_code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(self.error_code, message, **details)


class InvalidAmount(LedgerError):
    error_code = "invalid_amount"


class InvalidTransfer(LedgerError):
    """A malformed request: unknown kind, missing id or accounts, a field too long."""

    error_code = "invalid_transfer"


class AccountNotFound(LedgerError):
    error_code = "account_not_found"


class AccountsMustBeDifferent(LedgerError):
    error_code = "accounts_must_be_different"


class ExceedsCredits(LedgerError):
    """The debit account is limited to its credits and this transfer would go beyond them."""

    error_code = "exceeds_credits"


class ExceedsDebits(LedgerError):
    """The credit account is limited to its debits and this transfer would go beyond them."""

    error_code = "exceeds_debits"


class ExistsWithDifferentContent(LedgerError):
    """The id is taken by a transfer (or account code) with other content."""

    error_code = "exists_with_different_content"


class PendingTransferNotFound(LedgerError):
    error_code = "pending_transfer_not_found"


class PendingTransferNotPending(LedgerError):
    error_code = "pending_transfer_not_pending"


class PendingTransferHasDifferentAccounts(LedgerError):
    error_code = "pending_transfer_has_different_accounts"


class PendingTransferAlreadyPosted(LedgerError):
    error_code = "pending_transfer_already_posted"


class PendingTransferAlreadyVoided(LedgerError):
    error_code = "pending_transfer_already_voided"


class ExceedsPendingTransferAmount(LedgerError):
    error_code = "exceeds_pending_transfer_amount"


class TransferNotFound(LedgerError):
    error_code = "transfer_not_found"


class TransferNotReversible(LedgerError):
    """Only posted money (single-phase or post) can be reversed; a hold is voided instead."""

    error_code = "transfer_not_reversible"


class AlreadyReversed(LedgerError):
    error_code = "already_reversed"


class LinkedEventFailed(LedgerError):
    """One transfer of a linked batch failed, so none of the batch was applied.

    ``index`` is the failing transfer's position in the batch and ``error`` its own refusal.
    """

    error_code = "linked_event_failed"

    def __init__(self, index: int, error: LedgerError) -> None:
        super().__init__(
            f"transfer {index} of the linked batch failed ({error.code}): {error.message}",
            index=index,
            cause=error.code,
        )
        self.index = index
        self.error = error
