"""Bodies of paying a bill, the wallet callbacks, the sandbox wallet and HIS refunds (2208)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.errors import ErrorBody
from api.schemas.his import EXAMPLE_BILL_ID
from api.schemas.setlinfo import SETLINFO_EXAMPLE as HIS_SETLINFO_EXAMPLE
from api.schemas.setlinfo import SetlDetailPublic, SetlInfoPublic
from api.schemas.types import Money, MoneyText, RequestModel, ResponseModel, Text64, Text200
from settlement.usecases.paying.decide import setlinfo_version

Provider = Literal["wechat", "alipay"]
#: A split's fingerprint: 16 lowercase hex digits.
SplitVersion = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$", examples=["9d2e61a0c4b7f813"])]

#: The example bill (``api.schemas.his``) settled the next morning: the personal account pays
#: 100.00, the wallet the other 94.00 of the patient's 194.00.
SETLINFO_EXAMPLE: dict[str, Any] = {**HIS_SETLINFO_EXAMPLE, "setl_id": "ST20261124A1B2C3D4E5F6"}
EXAMPLE_PAYMENT_ID = "PY20261124A1B2C3D4E5F6"
#: The example split's version (what ``GET /v1/bills/{bill_id}`` shows as ``pay_now``).
SPLIT_VERSION = setlinfo_version(SETLINFO_EXAMPLE)
#: The same bill after the heart ultrasound (F0002, 180.00) is refunded: the new settlement, and
#: where the 180.00 went back (fund 46.00, personal account 40.00, wallet 94.00).
REFUND_SETLINFO_EXAMPLE: dict[str, Any] = {
    "medfee_sumamt": "60.00",
    "fulamt_ownpay_amt": "30.00",
    "overlmt_selfpay": "0.00",
    "preselfpay_amt": "0.00",
    "inscp_scp_amt": "30.00",
    "act_pay_dedc": "30.00",
    "hifp_pay": "0.00",
    "pool_prop_selfpay": "0.50",
    "fund_pay_sumamt": "0.00",
    "psn_part_amt": "60.00",
    "acct_pay": "60.00",
    "acct_mulaid_pay": "0.00",
    "psn_cash_pay": "0.00",
    "balc": "40.00",
    "setl_id": "ST20261125F6E5D4C3B2A1",
}

#: What each fund pays of that new settlement.
REFUND_SETLDETAIL_EXAMPLE: list[Any] = [
    {
        "fund_pay_type": "310100",
        "fund_pay_type_name": "职工基本医疗保险统筹基金",
        "inscp_scp_amt": "30.00",
        "crt_payb_lmt_amt": "0.00",
        "fund_payamt": "0.00",
        "setl_proc_info": "",
    },
    {
        "fund_pay_type": "310200",
        "fund_pay_type_name": "职工基本医疗保险个人账户",
        "inscp_scp_amt": "30.00",
        "crt_payb_lmt_amt": "60.00",
        "fund_payamt": "60.00",
        "setl_proc_info": "",
    },
]


class PaymentCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"wallet": "wechat", "split_version": SPLIT_VERSION},
                {"wallet": "wechat"},
            ]
        },
    )

    wallet: Provider = Field(description="the wallet that pays what the personal account does not")
    split_version: SplitVersion | None = Field(
        default=None,
        description="The `pay_now.split_version` of the bill (`GET /v1/bills/{bill_id}`) the payer "
        "confirmed. What is shown is what is taken: when paying now would take another split "
        "(a balance moved), nothing is taken and the answer is `409 split_changed` with the new "
        "`setlinfo` and `split_version`. Without it the split of the moment is taken (auto-pay).",
    )


class WalletPaymentPublic(ResponseModel):
    payment_id: str = Field(description="the wallet order id; the provider's callback names it")
    provider: Provider
    amount: MoneyText
    status: Literal["pending", "succeeded", "failed"]


class PaymentPublic(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bill_id": EXAMPLE_BILL_ID,
                    "status": "paying",
                    "setlinfo": SETLINFO_EXAMPLE,
                    "split_version": SPLIT_VERSION,
                    "payment": {
                        "payment_id": EXAMPLE_PAYMENT_ID,
                        "provider": "wechat",
                        "amount": "94.00",
                        "status": "pending",
                    },
                }
            ]
        }
    )

    bill_id: str
    status: str = Field(description="the bill's status: paying (wallet pending) or settled")
    setlinfo: SetlInfoPublic
    payment: WalletPaymentPublic | None = Field(
        description="the wallet part; null when the personal account and the fund paid it all"
    )
    split_version: SplitVersion = Field(
        description="the version of the split taken (`setlinfo`), as the bill's `pay_now` shows it"
    )


class PaymentStatusPublic(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": EXAMPLE_PAYMENT_ID,
                    "bill_id": EXAMPLE_BILL_ID,
                    "provider": "wechat",
                    "amount": "94.00",
                    "status": "succeeded",
                    "setl_id": SETLINFO_EXAMPLE["setl_id"],
                    "setlinfo": SETLINFO_EXAMPLE,
                }
            ]
        }
    )

    payment_id: str
    bill_id: str
    provider: Provider
    amount: MoneyText
    status: Literal["pending", "succeeded", "failed"]
    setl_id: str
    setlinfo: SetlInfoPublic


WALLET_CALLBACK_EXAMPLE: dict[str, Any] = {
    "order_id": EXAMPLE_PAYMENT_ID,
    "provider_txn_id": "T4F1C2A9B8E7D6C5B4A39281",
    "amount": "94.00",
    "status": "SUCCESS",
    "seq": 1,
    "sent_at": "2026-11-24T10:15:02+08:00",
}


class WalletCallback(BaseModel):
    """A wallet provider's payment callback, as the provider sends it.

    Documentation only: the route reads the raw bytes (``settlement.adapters.wallets``), since
    the signature is over exactly those bytes.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [WALLET_CALLBACK_EXAMPLE]})

    order_id: str = Field(description="The `payment_id` of `POST /v1/bills/{bill_id}/payments`")
    provider_txn_id: str = Field(description="The provider's own transaction number")
    amount: Money = Field(description="What the provider took; must equal the order's amount")
    status: Literal["SUCCESS", "FAIL"] = Field(description="Paid, or refused by the provider")
    seq: int = Field(ge=0, description="The provider's notification number, recorded")
    sent_at: str | None = Field(
        default=None, description="When the provider sent it (ISO 8601); not used"
    )


class NotifyAnswer(ResponseModel):
    """What the provider is told: ``SUCCESS`` stops its retries."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"code": "SUCCESS", "message": f"applied: order {EXAMPLE_PAYMENT_ID} succeeded"}
            ]
        }
    )

    code: Literal["SUCCESS", "FAIL"]
    message: str


class NotifyRefusal(NotifyAnswer):
    """A refused callback: ``FAIL`` for the provider, and the service's error envelope for
    everyone else (``error.code``: ``bad_signature``, ``amount_mismatch``, ``unknown_order``…)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "FAIL",
                    "message": "bad_signature: the signature does not verify",
                    "error": {
                        "code": "bad_signature",
                        "message": "the signature does not verify",
                    },
                }
            ]
        }
    )

    error: ErrorBody


class BehaviourUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"next": "fail"}, {"next": "delay"}]}
    )

    next: Literal["succeed", "fail", "delay"] = Field(
        description="succeed or fail: the callback comes right after the payment commits; "
        "delay: it waits for `POST /sandbox/v1/scheduler/run`"
    )
    repeat: bool = Field(
        default=False, description="false: the next order only, then back to succeed"
    )


class BehaviourPublic(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"provider": "wechat", "next": "fail", "repeat": False}]}
    )

    provider: Provider
    next: Literal["succeed", "fail", "delay"]
    repeat: bool


class RefundCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"feedetl_sn": ["F0002"], "reason": "检查取消"}]},
    )

    feedetl_sn: Annotated[list[Text64], Field(min_length=1, max_length=500)]
    reason: Text200


class ReturnedPublic(ResponseModel):
    hifp_pay: MoneyText = Field(description="back to the pooled fund")
    acct_pay: MoneyText = Field(description="back to the personal account(s)")
    acct_mulaid_pay: MoneyText = Field(description="of acct_pay, back to relatives' accounts")
    psn_cash_pay: MoneyText = Field(description="refunded to the wallet")
    credit_line: MoneyText = Field(description="freed on the credit line (before settlement)")


class RefundPublic(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bill_id": EXAMPLE_BILL_ID,
                    "status": "settled",
                    "refunded": ["F0002"],
                    "refund_amount": "180.00",
                    "medfee_sumamt": "60.00",
                    "setlinfo": REFUND_SETLINFO_EXAMPLE,
                    "setldetail": REFUND_SETLDETAIL_EXAMPLE,
                    "returned": {
                        "hifp_pay": "46.00",
                        "acct_pay": "40.00",
                        "acct_mulaid_pay": "0.00",
                        "psn_cash_pay": "94.00",
                        "credit_line": "0.00",
                    },
                }
            ]
        }
    )

    bill_id: str
    status: str = Field(description="the bill's status after the refund")
    refunded: list[str]
    refund_amount: MoneyText
    medfee_sumamt: MoneyText = Field(description="what the bill comes to now")
    setlinfo: SetlInfoPublic = Field(
        description="after settlement: the new settlement; before: the new estimate"
    )
    setldetail: list[SetlDetailPublic] = Field(
        description="what each fund pays of `setlinfo` (national setldetail)"
    )
    returned: ReturnedPublic


class WithholdingPublic(ResponseModel):
    provider: Provider
    status: Literal["active", "none"] = Field(
        description="`active`: auto-pay may charge this wallet; `none`: no agreement in force"
    )


AnomalyResolution = Literal["applied", "refunded", "kept", "unresolved"]


class WalletAnomalyPublic(ResponseModel):
    """A wallet outcome that contradicted the recorded one, and what was done about it."""

    id: int
    provider: Provider
    order_id: str
    bill_id: str
    recorded: Literal["succeeded", "failed"] = Field(description="the order's outcome before")
    reported: Literal["succeeded", "failed"] = Field(description="what the callback said")
    provider_status: Literal["succeeded", "failed", "pending", "unknown"] = Field(
        description="what the provider's query answered (`unknown`: it has no such order)"
    )
    amount: MoneyText = Field(description="the order's amount")
    resolution: AnomalyResolution = Field(
        description="`applied`: the money taken on a failed order paid the bill still owed "
        "(`setl_id`); `refunded`: the bill was paid another way (or owes another amount), the "
        "money went back through the wallet (`refund_id`); `kept`: the provider confirms what "
        "was recorded; `unresolved`: for an operator (the provider does not confirm money "
        "counted as taken, still says pending, or reports another amount)"
    )
    setl_id: str | None
    refund_id: str | None
    created_at: str


class WalletAnomalyListPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "anomalies": [
                        {
                            "id": 1,
                            "provider": "wechat",
                            "order_id": EXAMPLE_PAYMENT_ID,
                            "bill_id": EXAMPLE_BILL_ID,
                            "recorded": "failed",
                            "reported": "succeeded",
                            "provider_status": "succeeded",
                            "amount": "94.00",
                            "resolution": "applied",
                            "setl_id": "ST20261124F6E5D4C3B2A1",
                            "refund_id": None,
                            "created_at": "2026-11-24T09:31:02+08:00",
                        }
                    ]
                }
            ]
        },
    )

    anomalies: list[WalletAnomalyPublic] = Field(description="Newest first")
