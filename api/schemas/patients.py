"""Bodies of the patient calls (``/v1``): the agreement, the credit decision and the bills."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt
from pydantic.config import JsonDict

from api.schemas.his import (
    CREDIT_AMT_DESCRIPTION,
    FUND_SETTLED_DESCRIPTION,
    SETTLEMENT_MODE_DESCRIPTION,
    FeePublic,
    ReasonPublic,
    SettlementMode,
)
from api.schemas.setlinfo import SetlInfoPublic
from api.schemas.types import (
    Consent,
    MoneyText,
    PsnNo,
    RequestModel,
    ResponseModel,
    Text50,
)
from settlement.usecases.paying.decide import setlinfo_version

Autopay = Literal["off", "on_close", "before_deadline"]
BillStatus = Literal[
    "billed", "paying", "settled", "overdue", "paying_late", "settled_late", "refunded"
]

_ESTIMATE_EXAMPLE: JsonDict = {
    "medfee_sumamt": "91.00",
    "fulamt_ownpay_amt": "30.00",
    "overlmt_selfpay": "10.00",
    "preselfpay_amt": "10.00",
    "inscp_scp_amt": "41.00",
    "act_pay_dedc": "41.00",
    "hifp_pay": "0.00",
    "pool_prop_selfpay": "0.50",
    "fund_pay_sumamt": "0.00",
    "psn_part_amt": "91.00",
    "acct_pay": "91.00",
    "acct_mulaid_pay": "0.00",
    "psn_cash_pay": "0.00",
    "balc": "9.00",
}


class AgreementPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "version": 1,
                    "title": "舒心就医“先看病、后付费”信用就医服务协议",
                    "text": "第一条 …",
                    "summary_en": 'Shuxin "treat first, pay later" credit care agreement, …',
                    "sha256": "3b1f…64 hex digits…",
                }
            ]
        },
    )

    version: int = Field(description="Sign this version: `POST /v1/agreements` checks it")
    title: str
    text: str = Field(description="The full text (Chinese, Markdown)")
    summary_en: str = Field(description="A summary in English")
    sha256: str = Field(description="SHA-256 of `text` (UTF-8), kept with every signature")


class AgreementSign(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000001",
                    "certno": "371402198005010028",
                    "psn_name": "张三",
                    "version": 1,
                    "accept": True,
                    "autopay": "on_close",
                }
            ]
        },
    )

    psn_no: PsnNo = Field(description="Must be the token's own psn_no")
    certno: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            description="Resident ID number, 18 characters; a wrong one is `invalid_certno`",
            examples=["371402198005010028"],
        ),
    ]
    psn_name: Annotated[Text50, Field(examples=["张三"])]
    version: StrictInt = Field(ge=1, description="The version read from the current agreement")
    accept: Consent
    autopay: Autopay = Field(
        description="Withholding (无感支付): `off`, `on_close` (pay when the visit closes) or "
        "`before_deadline` (pay just before the 72-hour deadline)"
    )


class CreditDecisionPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000001",
                    "status": "active",
                    "credit_line": "800.00",
                    "available": "800.00",
                    "reasons": [
                        {
                            "code": "contribution_months",
                            "zh": "连续缴费月数较短",
                            "en": "Short contribution history",
                        }
                    ],
                    "scorecard_version": "2026.1",
                    "autopay": "on_close",
                    "version": 1,
                    "signed_at": "2026-11-23T09:30:00+08:00",
                }
            ]
        },
    )

    psn_no: str
    status: Literal["active", "frozen", "not_signed", "not_eligible", "suspended"]
    credit_line: MoneyText
    available: MoneyText
    reasons: list[ReasonPublic] = Field(description="The attributes that cost the most points")
    scorecard_version: str
    autopay: Autopay
    version: int = Field(description="The agreement version signed")
    signed_at: str


class RevocationPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000001",
                    "status": "not_signed",
                    "credit_line": "0.00",
                    "revoked_at": "2026-11-30T10:00:00+08:00",
                    "reasons": [
                        {
                            "code": "agreement_revoked",
                            "zh": "已解除信用就医服务协议",
                            "en": "The service agreement was revoked",
                        }
                    ],
                }
            ]
        },
    )

    psn_no: str
    status: Literal["not_signed"]
    credit_line: MoneyText = Field(description="What the ledger still grants: 0.00")
    revoked_at: str
    reasons: list[ReasonPublic]


class BillSummaryPublic(ResponseModel):
    bill_id: str
    mdtrt_id: str
    hospital_code: str
    hospital_name: str
    status: BillStatus
    medfee_sumamt: MoneyText = Field(description="What the bill comes to now (after refunds)")
    closed_at: str
    due_at: str = Field(description="closed_at + 72 h: pay before this")
    settled_at: str | None
    settlement_mode: SettlementMode = Field(description=SETTLEMENT_MODE_DESCRIPTION)
    fund_settled_amt: MoneyText = Field(description=FUND_SETTLED_DESCRIPTION)
    credit_amt: MoneyText = Field(description=CREDIT_AMT_DESCRIPTION)
    estimate: SetlInfoPublic = Field(description="The split estimated at close (2206)")
    setlinfo: SetlInfoPublic | None = Field(
        description="The settlement that stands (2207), with its `setl_id`, as the payment (or "
        "the refund that settled the bill again) answered it; `null` until the bill is settled, "
        "while a payment is pending, for an empty visit (nothing to settle) and after every line "
        "was refunded",
        examples=[{**_ESTIMATE_EXAMPLE, "setl_id": "ST20261124A1B2C3D4E5F6"}],
    )


class BillListPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "bills": [
                        {
                            "bill_id": "BL20261123A1B2C3D4E5F6",
                            "mdtrt_id": "MD20261123F6E5D4C3B2A1",
                            "hospital_code": "H37140200001",
                            "hospital_name": "德州市人民医院",
                            "status": "billed",
                            "medfee_sumamt": "91.00",
                            "closed_at": "2026-11-23T11:00:00+08:00",
                            "due_at": "2026-11-26T11:00:00+08:00",
                            "settled_at": None,
                            "settlement_mode": "repayment",
                            "fund_settled_amt": "0.00",
                            "credit_amt": "91.00",
                            "estimate": _ESTIMATE_EXAMPLE,
                            "setlinfo": None,
                        }
                    ]
                }
            ]
        },
    )

    bills: list[BillSummaryPublic] = Field(description="Newest first")


class BillEventPublic(ResponseModel):
    kind: str = Field(description="closed, refund, payment, overdue, …")
    from_status: str | None
    to_status: str
    amount: MoneyText
    at: str


class BillPaymentPublic(ResponseModel):
    payer_psn_no: str = Field(description="Who paid: the patient, or the family manager who did")
    channel: str = Field(
        description="`app` (paid in the app or on the page, by the patient or a family manager: "
        "see `payer_psn_no`), `autopay` (withheld), `resettle` (settled again after a refund), "
        "`insurance` (the pooled fund and the patient's own personal account covered the bill "
        "entirely, so it settled by itself when it was made: signing the agreement consents to "
        "it; `payer_psn_no` is the patient)"
    )
    wallet: str | None = Field(description="`wechat` or `alipay` when a wallet paid a part")
    acct_pay: MoneyText = Field(description="From personal medical-insurance accounts")
    psn_cash_pay: MoneyText = Field(description="From the wallet")
    paid_at: str = Field(description="When the bill was settled (its `settled_at`)")


class PayNowPublic(ResponseModel):
    """The split paying the bill now would take, for the caller paying it."""

    setlinfo: SetlInfoPublic = Field(
        description="Source by source: `hifp_pay` (pooled fund), `acct_pay` of which "
        "`acct_mulaid_pay` is the caller's own account by family mutual aid (only where the "
        "caller bound the patient: `PUT /v1/family/members/{psn_no}/mutual-aid`), "
        "`psn_cash_pay` (the wallet)"
    )
    split_version: str = Field(
        description="Send it as the payment's `split_version`: exactly this split is taken, or "
        "nothing (`409 split_changed`)",
        examples=["9d2e61a0c4b7f813"],
    )


class BillPublic(BillSummaryPublic):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "bill_id": "BL20261123A1B2C3D4E5F6",
                    "mdtrt_id": "MD20261123F6E5D4C3B2A1",
                    "hospital_code": "H37140200001",
                    "hospital_name": "德州市人民医院",
                    "status": "billed",
                    "medfee_sumamt": "91.00",
                    "closed_at": "2026-11-23T11:00:00+08:00",
                    "due_at": "2026-11-26T11:00:00+08:00",
                    "settled_at": None,
                    "settlement_mode": "repayment",
                    "fund_settled_amt": "0.00",
                    "credit_amt": "91.00",
                    "estimate": _ESTIMATE_EXAMPLE,
                    "setlinfo": None,
                    "med_type": "11",
                    "dept_code": "A03",
                    "dept_name": "心血管内科",
                    "dr_name": "王医生",
                    "begntime": "2026-11-23T09:30:00+08:00",
                    "fees": [],
                    "paid": None,
                    "pay_now": {
                        "setlinfo": _ESTIMATE_EXAMPLE,
                        "split_version": setlinfo_version(
                            {name: str(value) for name, value in _ESTIMATE_EXAMPLE.items()}
                        ),
                    },
                    "events": [
                        {
                            "kind": "closed",
                            "from_status": None,
                            "to_status": "billed",
                            "amount": "91.00",
                            "at": "2026-11-23T11:00:00+08:00",
                        }
                    ],
                }
            ]
        },
    )

    med_type: str
    dept_code: str
    dept_name: str
    dr_name: str
    begntime: str
    fees: list[FeePublic] = Field(description="The bill's lines (billed or refunded)")
    pay_now: PayNowPublic | None = Field(
        default=None,
        description="What paying now (`POST /v1/bills/{bill_id}/payments`) by the caller would "
        "take, exactly; `null` unless the bill is `billed` or `overdue`",
    )
    events: list[BillEventPublic] = Field(description="The bill's history, oldest first")
    paid: BillPaymentPublic | None = Field(
        description="Who settled the bill, how and when; `null` until it is settled"
    )
