"""The chart of accounts: which ledger account records what.

- ``patient:{psn_no}:line`` (limited: debits must not exceed credits) is the patient's credit line.
  Granting the line credits it from ``scheme:credit``; a charge holds (pending debit) against it, to
  the visit's ``visit:{mdtrt_id}:sales``; closing the visit posts the holds; repayment credits it
  back from the payers. So its available debit is exactly the credit the patient may still use.
- ``visit:{mdtrt_id}:sales`` (unlimited) receives one visit's charges. It is per visit, not per
  hospital, on purpose: every hold writes the balances of the account it credits under a row lock
  held until commit, so one shared account per hospital made all charges at a hospital queue
  behind each other. The visit row is locked by every charge anyway, so a per-visit account adds
  no waiting. A hospital's sales are the transfers whose ``reference`` is one of its visits (that
  is how reconciliation sums them), never an account balance.
- ``fund:pool`` (the pooled fund), ``patient:{psn_no}:insurance_account`` (the personal account)
  and ``wallet:{provider}`` (a wallet provider's clearing account) are where repayments come from.
- The shared accounts (:data:`SHARED_KINDS`: the pooled fund, the wallets' clearing accounts,
  ``scheme:credit``) have no limit and every payment or grant touches one: they are striped
  (:class:`~settlement.ledger.tables.LedgerAccountStripe`), so payments never queue on their row.
"""

from __future__ import annotations

SCHEME_CREDIT = "scheme:credit"
POOLED_FUND = "fund:pool"
#: The kinds of account every payment (or grant) touches: striped, never locked.
SHARED_KINDS = frozenset({"fund", "wallet_clearing", "scheme"})
#: The ``kind`` of a visit's sales account.
VISIT_SALES_KIND = "visit_sales"


def patient_line(psn_no: str) -> str:
    return f"patient:{psn_no}:line"


def patient_insurance_account(psn_no: str) -> str:
    return f"patient:{psn_no}:insurance_account"


def visit_sales(mdtrt_id: str) -> str:
    return f"visit:{mdtrt_id}:sales"


def wallet_clearing(provider: str) -> str:
    return f"wallet:{provider}"
