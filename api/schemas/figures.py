"""The figures of a hospital's day, shared by the reconciliation (3201) and the daily report.

Both answers carry these blocks from one presenter over one computation, so for the same
hospital and day they are the same numbers. Every field says what it counts.
"""

from __future__ import annotations

from pydantic import Field
from pydantic.config import JsonDict

from api.schemas.types import MoneyText, ResponseModel


def _payers(fund: str, acct: str, mulaid: str, cash: str) -> JsonDict:
    return {
        "fund_pay_sumamt": fund,
        "acct_pay": acct,
        "acct_mulaid_pay": mulaid,
        "psn_cash_pay": cash,
    }


#: A day with three bills closed (185.00), one paid (100.00), 10.00 refunded before payment and
#: 40.00 refunded from a 60.00 bill paid the day before (30.00 from the account, 30.00 from the
#: wallet): its reversal hands back 30.00 + 30.00 and the remaining 20.00 is re-settled from the
#: account, so the account gets 10.00 back and the wallet 30.00.
HOSPITAL_DAY_EXAMPLE: JsonDict = {
    "bills_closed": {"count": 3, "amount": "185.00"},
    "settlements": {
        "count": 2,
        "medfee_sumamt": "120.00",
        **_payers("0.50", "70.00", "0.00", "49.50"),
    },
    "refunds": {
        "count": 2,
        "medfee_sumamt": "50.00",
        "returned": _payers("0.00", "30.00", "0.00", "30.00"),
        "paid_back": _payers("0.00", "10.00", "0.00", "30.00"),
    },
    "net": _payers("0.50", "40.00", "0.00", "19.50"),
    "outstanding": {"count": 2, "amount": "75.00"},
    "overdue": {"count": 0, "amount": "0.00"},
}


class CountAmount(ResponseModel):
    count: int = Field(description="How many")
    amount: MoneyText = Field(description="Their sum, yuan")


class PayerAmounts(ResponseModel):
    fund_pay_sumamt: MoneyText = Field(description="The pooled fund (统筹基金)")
    acct_pay: MoneyText = Field(
        description="Personal medical-insurance accounts (个人账户), mutual aid included"
    )
    acct_mulaid_pay: MoneyText = Field(
        description="Of `acct_pay`, what family managers' accounts paid by mutual aid (共济)"
    )
    psn_cash_pay: MoneyText = Field(description="The patient's wallet (WeChat Pay, Alipay)")


class SettledDay(PayerAmounts):
    """Settlements posted on the day (a re-settlement after a refund is one), by payer."""

    count: int = Field(description="Settlements posted on the day")
    medfee_sumamt: MoneyText = Field(description="The bills' amounts those settlements cover")


class RefundedDay(ResponseModel):
    count: int = Field(description="Refund requests (2208) on the day, before or after payment")
    medfee_sumamt: MoneyText = Field(description="Charges refunded (before or after settlement)")
    returned: PayerAmounts = Field(
        description="What the settlements reversed on the day had taken from each payer (the "
        "ledger's reversals); the remaining lines' re-settlement is in `settlements`"
    )
    paid_back: PayerAmounts = Field(
        description="What each payer got back on the day: `returned` less the re-settlements"
    )


class HospitalFigures(ResponseModel):
    """The money of a hospital's day, as it happened, on the local day it happened."""

    bills_closed: CountAmount = Field(
        description="Bills made on the day (visits closed), at their amount when they closed"
    )
    settlements: SettledDay = Field(description="Settlements posted on the day, by payer")
    refunds: RefundedDay = Field(description="Refunds on the day, and where the money went")
    net: PayerAmounts = Field(
        description="Settlements net of refunds, by payer: `settlements` − `refunds.returned` "
        "(negative on a day with more refunded than paid)"
    )
    outstanding: CountAmount = Field(
        description="Bills unpaid at the end of the day, at what they still owed then"
    )
    overdue: CountAmount = Field(
        description="Of `outstanding`, the bills past their deadline at the end of the day"
    )
