"""The chart of accounts: which ledger account records what.

- ``patient:{psn_no}:line`` (limited: debits must not exceed credits) is the patient's credit line.
  Granting the line credits it from ``scheme:credit``; a charge holds (pending debit) against it, to
  the hospital's ``hospital:{code}:sales``; closing the visit posts the holds; repayment credits it
  back from the payers. So its available debit is exactly the credit the patient may still use.
- ``fund:pool`` (the pooled fund), ``patient:{psn_no}:insurance_account`` (the personal account)
  and ``wallet:{provider}`` (a wallet provider's clearing account) are where repayments come from.
"""

from __future__ import annotations

SCHEME_CREDIT = "scheme:credit"
POOLED_FUND = "fund:pool"


def patient_line(psn_no: str) -> str:
    return f"patient:{psn_no}:line"


def patient_insurance_account(psn_no: str) -> str:
    return f"patient:{psn_no}:insurance_account"


def hospital_sales(hospital_code: str) -> str:
    return f"hospital:{hospital_code}:sales"


def wallet_clearing(provider: str) -> str:
    return f"wallet:{provider}"
