"""Paying a bill: the split now, pending transfers, a wallet order, then confirm or fail.

``start_payment`` splits the bill with the accumulators and the personal account balance of now,
and *reserves* what the split consumes in the same transaction: the policy-year accumulators are
stored and the personal account is debited at once, under a per-person lock. So two bills of one
patient paid at the same moment can never both use the same deductible or the same balance; a
failed payment gives both back. The three sources (pooled fund, personal account, wallet) are
pending ledger transfers into the patient's line until the wallet's signed callback confirms;
then they post together (one linked batch), the bill settles, the credit event is recorded and
the line synced. A psn_cash_pay of zero needs no wallet: the payment confirms at once.

The use case has the shape every money movement has (issue 18): ``facts`` (load and lock),
``decide`` (pure: refusals, states, legs, what a callback means), ``write`` (the rows),
``service`` and ``callbacks`` (the transaction around them). This module names what callers use.
"""

from __future__ import annotations

from settlement.billing.accumulators import lock_person
from settlement.usecases.paying.callbacks import (
    CallbackOutcome,
    deliver_due_callbacks,
    receive_callback,
    stored_callback_body,
)
from settlement.usecases.paying.decide import MAX_CALLBACK_SEQ, PAYABLE, SOURCES, plan_legs
from settlement.usecases.paying.facts import live_settlement, lock_bill
from settlement.usecases.paying.outcomes import apply_order_outcome, confirm_payment, fail_payment
from settlement.usecases.paying.service import (
    PaymentResult,
    WalletPayment,
    authorise_withholding,
    payment_of,
    revoke_withholding,
    start_payment,
    wallet_for,
)
from settlement.usecases.paying.write import change_status, source_accounts

__all__ = [
    "MAX_CALLBACK_SEQ",
    "PAYABLE",
    "SOURCES",
    "CallbackOutcome",
    "PaymentResult",
    "WalletPayment",
    "apply_order_outcome",
    "authorise_withholding",
    "change_status",
    "confirm_payment",
    "deliver_due_callbacks",
    "fail_payment",
    "live_settlement",
    "lock_bill",
    "lock_person",
    "payment_of",
    "plan_legs",
    "receive_callback",
    "revoke_withholding",
    "source_accounts",
    "start_payment",
    "stored_callback_body",
    "wallet_for",
]
