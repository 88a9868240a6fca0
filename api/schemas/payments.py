"""Bodies of paying a bill, the wallet callbacks, the sandbox wallet and HIS refunds (2208)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.his import SetlInfoPublic
from api.schemas.types import MoneyText, RequestModel, ResponseModel, Text64, Text200

Provider = Literal["wechat", "alipay"]

SETLINFO_EXAMPLE: dict[str, Any] = {
    "medfee_sumamt": "310.00",
    "fulamt_ownpay_amt": "30.00",
    "overlmt_selfpay": "0.00",
    "preselfpay_amt": "0.00",
    "inscp_scp_amt": "280.00",
    "act_pay_dedc": "200.00",
    "hifp_pay": "40.00",
    "pool_prop_selfpay": "0.50",
    "fund_pay_sumamt": "40.00",
    "psn_part_amt": "270.00",
    "acct_pay": "100.00",
    "acct_mulaid_pay": "0.00",
    "psn_cash_pay": "170.00",
    "balc": "0.00",
    "setl_id": "ST20261124A1B2C3D4E5F6",
}


class PaymentCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"wallet": "wechat"}]}
    )

    wallet: Provider = Field(description="the wallet that pays what the personal account does not")


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
                    "bill_id": "BL20261123A1B2C3D4E5F6",
                    "status": "paying",
                    "setlinfo": SETLINFO_EXAMPLE,
                    "payment": {
                        "payment_id": "PY20261124A1B2C3D4E5F6",
                        "provider": "wechat",
                        "amount": "170.00",
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


class PaymentStatusPublic(ResponseModel):
    payment_id: str
    bill_id: str
    provider: Provider
    amount: MoneyText
    status: Literal["pending", "succeeded", "failed"]
    setl_id: str
    setlinfo: SetlInfoPublic


class NotifyAnswer(ResponseModel):
    """What the provider is told: ``SUCCESS`` stops its retries."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "SUCCESS", "message": "applied"}]}
    )

    code: Literal["SUCCESS", "FAIL"]
    message: str


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
                    "bill_id": "BL20261123A1B2C3D4E5F6",
                    "status": "settled",
                    "refunded": ["F0002"],
                    "refund_amount": "30.00",
                    "medfee_sumamt": "280.00",
                    "setlinfo": {**SETLINFO_EXAMPLE, "medfee_sumamt": "280.00"},
                    "returned": {
                        "hifp_pay": "0.00",
                        "acct_pay": "0.00",
                        "acct_mulaid_pay": "0.00",
                        "psn_cash_pay": "30.00",
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
    returned: ReturnedPublic


class WithholdingPublic(ResponseModel):
    provider: Provider
    status: Literal["active", "none"] = Field(
        description="`active`: auto-pay may charge this wallet; `none`: no agreement in force"
    )
