"""The ledger's rules written out again, plainly, as the state machine's oracle.

An independent model over account codes and integer fen: it predicts whether the ledger should
accept a request and, if not, the error code it should give. It shares no code with
``settlement.ledger`` on purpose, so a rule broken there is not broken here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from settlement.ledger.ledger import TransferRequest


@dataclass
class ModelAccount:
    limit: str | None  # "debits" (debits ≤ credits), "credits" (credits ≤ debits) or None
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


@dataclass
class ModelTransfer:
    request: TransferRequest
    kind: str
    debit: str
    credit: str
    amount: int


@dataclass
class Model:
    """The ledger's rules written out again, plainly, over account codes and integer fen."""

    accounts: dict[str, ModelAccount] = field(default_factory=dict)
    transfers: dict[str, ModelTransfer] = field(default_factory=dict)
    resolutions: dict[str, str] = field(default_factory=dict)  # pending id -> post/void kind
    reversed: set[str] = field(default_factory=set)

    def apply(self, request: TransferRequest) -> str | None:
        """Apply ``request`` if the ledger should accept it; return the expected error code."""
        if request.id in self.transfers:
            return "exists_with_different_content"  # this model never retries through apply
        if request.kind in ("single_phase", "pending"):
            outcome = self._move(request)
        else:
            outcome = self._resolve(request)
        if isinstance(outcome, str):
            return outcome
        debit, credit, amount = outcome
        self.transfers[request.id] = ModelTransfer(request, request.kind, debit, credit, amount)
        return None

    def _move(self, request: TransferRequest) -> str | tuple[str, str, int]:
        assert request.amount is not None
        amount = int(request.amount * 100)
        debit, credit = str(request.debit_account), str(request.credit_account)
        if debit not in self.accounts or credit not in self.accounts:
            return "account_not_found"
        if debit == credit:
            return "accounts_must_be_different"
        refused = self._refusal_of_reversal(request)
        if refused:
            return refused
        d, c = self.accounts[debit], self.accounts[credit]
        if d.limit == "debits" and d.debits_pending + d.debits_posted + amount > d.credits_posted:
            return "exceeds_credits"
        if c.limit == "credits" and c.credits_pending + c.credits_posted + amount > c.debits_posted:
            return "exceeds_debits"
        if request.kind == "pending":
            d.debits_pending += amount
            c.credits_pending += amount
        else:
            d.debits_posted += amount
            c.credits_posted += amount
        if request.reverses_id is not None:
            self.reversed.add(request.reverses_id)
        return debit, credit, amount

    def _refusal_of_reversal(self, request: TransferRequest) -> str | None:
        if request.reverses_id is None:
            return None
        original = self.transfers[request.reverses_id]
        if original.kind not in ("single_phase", "post_pending"):
            return "transfer_not_reversible"
        if request.reverses_id in self.reversed:
            return "already_reversed"
        return None

    def _resolve(self, request: TransferRequest) -> str | tuple[str, str, int]:
        assert request.pending_id is not None
        pending = self.transfers.get(request.pending_id)
        if pending is None:
            return "pending_transfer_not_found"
        if pending.kind != "pending":
            return "pending_transfer_not_pending"
        if request.pending_id in self.resolutions:
            posted = self.resolutions[request.pending_id] == "post_pending"
            return f"pending_transfer_already_{'posted' if posted else 'voided'}"
        amount = pending.amount if request.amount is None else int(request.amount * 100)
        if amount > pending.amount:
            return "exceeds_pending_transfer_amount"
        d, c = self.accounts[pending.debit], self.accounts[pending.credit]
        d.debits_pending -= pending.amount
        c.credits_pending -= pending.amount
        if request.kind == "post_pending":
            d.debits_posted += amount
            c.credits_posted += amount
        self.resolutions[request.pending_id] = request.kind
        return pending.debit, pending.credit, amount


def amount_of(cents: int) -> Decimal:
    return Decimal(cents) / 100
