"""Bodies of the HIS calls (``/his/v1``), with the national platform's field names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from api.schemas.types import (
    Money,
    MoneyText,
    PsnNo,
    Quantity,
    RequestModel,
    ResponseModel,
    Text50,
    Text64,
    Text100,
    Text200,
    Timestamp,
    UnitPrice,
)

MedType = Literal["11", "13", "14"]


class ReasonPublic(ResponseModel):
    code: str
    zh: str
    en: str


class CreditPublic(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000001",
                    "status": "active",
                    "credit_line": "800.00",
                    "available": "652.50",
                    "outstanding": "120.00",
                    "on_hold": "27.50",
                    "reasons": [
                        {
                            "code": "contribution_months",
                            "zh": "连续缴费月数较短",
                            "en": "Short contribution history",
                        }
                    ],
                }
            ]
        }
    )

    psn_no: str
    status: Literal["active", "frozen", "not_signed", "not_eligible", "suspended"]
    credit_line: MoneyText
    available: MoneyText
    outstanding: MoneyText
    on_hold: MoneyText
    reasons: list[ReasonPublic]


class VisitCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ipt_otp_no": "MZ20261123000123",
                    "psn_no": "37140000000000000001",
                    "med_type": "11",
                    "dept_code": "A03.01",
                    "dept_name": "心血管内科",
                    "dr_name": "王医生",
                    "begntime": "2026-11-23T09:30:00+08:00",
                }
            ]
        },
    )

    ipt_otp_no: Annotated[Text64, Field(examples=["MZ20261123000123"])]
    psn_no: PsnNo
    med_type: MedType = Field(description="11 general outpatient, 13 emergency, 14 chronic")
    dept_code: Annotated[Text64, Field(examples=["A03.01"])]
    dept_name: Annotated[Text100, Field(examples=["心血管内科"])]
    dr_name: Annotated[Text50, Field(examples=["王医生"])]
    begntime: Timestamp


class FeeCreate(RequestModel):
    feedetl_sn: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[\x21-\x7e]+$")]
    med_list_codg: Annotated[
        str,
        Field(
            min_length=1,
            max_length=50,
            pattern=r"^[\x21-\x7e]+$",
            examples=["001101000010000-110100001"],
        ),
    ]
    item_name: Annotated[Text200, Field(examples=["普通门诊诊查费"])]
    pric: UnitPrice
    cnt: Quantity
    det_item_fee_sumamt: Money
    fee_ocur_time: Timestamp


class FeeBatchCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "chrg_bchno": "CB20261123000001",
                    "fees": [
                        {
                            "feedetl_sn": "1",
                            "med_list_codg": "001101000010000-110100001",
                            "item_name": "普通门诊诊查费",
                            "pric": "10.00",
                            "cnt": "1",
                            "det_item_fee_sumamt": "10.00",
                            "fee_ocur_time": "2026-11-23T09:35:00+08:00",
                        }
                    ],
                }
            ]
        },
    )

    chrg_bchno: Annotated[Text64, Field(examples=["CB20261123000001"])]
    fees: Annotated[list[FeeCreate], Field(min_length=1, max_length=500)]


class FeePublic(ResponseModel):
    feedetl_sn: str
    chrg_bchno: str
    med_list_codg: str
    item_name: str
    pric: str
    cnt: str
    det_item_fee_sumamt: MoneyText
    chrgitm_lv: Literal["A", "B", "C"]
    selfpay_prop: str
    fulamt_ownpay_amt: MoneyText
    overlmt_amt: MoneyText
    preselfpay_amt: MoneyText
    inscp_scp_amt: MoneyText
    unlisted: bool = Field(description="true when med_list_codg is not in the catalogue (class C)")
    fee_ocur_time: str
    status: Literal["held", "cancelled", "billed", "refunded"]


class FeeBatchPublic(ResponseModel):
    mdtrt_id: str
    chrg_bchno: str
    fees: list[FeePublic]
    medfee_sumamt: MoneyText = Field(description="the visit's total of lines on hold or billed")
    available: MoneyText


class VisitPublic(ResponseModel):
    mdtrt_id: str
    ipt_otp_no: str
    psn_no: str
    med_type: str
    dept_code: str
    dept_name: str
    dr_name: str
    begntime: str
    status: Literal["open", "closed"]
    medfee_sumamt: MoneyText
    available: MoneyText
    fees: list[FeePublic]
    bill_id: str | None = None
    closed_at: str | None = None


class SetlInfoPublic(ResponseModel):
    medfee_sumamt: MoneyText
    fulamt_ownpay_amt: MoneyText
    overlmt_selfpay: MoneyText
    preselfpay_amt: MoneyText
    inscp_scp_amt: MoneyText
    act_pay_dedc: MoneyText
    hifp_pay: MoneyText
    pool_prop_selfpay: str = Field(description="the pooled fund ratio applied, e.g. 0.50")
    fund_pay_sumamt: MoneyText
    psn_part_amt: MoneyText
    acct_pay: MoneyText
    acct_mulaid_pay: MoneyText
    psn_cash_pay: MoneyText
    balc: MoneyText
    setl_id: str | None = None


class PresettlePublic(ResponseModel):
    mdtrt_id: str
    setlinfo: SetlInfoPublic


class ClosePublic(ResponseModel):
    mdtrt_id: str
    bill_id: str
    status: str = Field(description="the bill's status: billed, or settled for an empty visit")
    medfee_sumamt: MoneyText
    closed_at: str
    due_at: str
    estimate: SetlInfoPublic


class RefundCreate(RequestModel):
    feedetl_sn: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=30)]],
        Field(min_length=1, max_length=500),
    ]
    reason: Annotated[Text200, Field(examples=["患者退药"])]


class CountAmount(ResponseModel):
    count: int
    amount: MoneyText


class PayerAmounts(ResponseModel):
    fund_pay_sumamt: MoneyText
    acct_pay: MoneyText
    acct_mulaid_pay: MoneyText
    psn_cash_pay: MoneyText


class SettledDay(PayerAmounts):
    count: int
    medfee_sumamt: MoneyText


class RefundedDay(ResponseModel):
    count: int
    medfee_sumamt: MoneyText = Field(description="charges refunded (before or after settlement)")
    returned: PayerAmounts = Field(description="money handed back to each payer after settlement")


class ReconciliationPublic(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hospital_code": "H371402001",
                    "date": "2026-11-23",
                    "timezone": "Asia/Shanghai",
                    "bills_closed": {"count": 2, "amount": "151.00"},
                    "settlements": {
                        "count": 1,
                        "medfee_sumamt": "91.00",
                        "fund_pay_sumamt": "20.00",
                        "acct_pay": "71.00",
                        "acct_mulaid_pay": "0.00",
                        "psn_cash_pay": "0.00",
                    },
                    "refunds": {
                        "count": 0,
                        "medfee_sumamt": "0.00",
                        "returned": {
                            "fund_pay_sumamt": "0.00",
                            "acct_pay": "0.00",
                            "acct_mulaid_pay": "0.00",
                            "psn_cash_pay": "0.00",
                        },
                    },
                    "outstanding": {"count": 1, "amount": "60.00"},
                    "overdue": {"count": 0, "amount": "0.00"},
                    "ledger": {"charges_posted": "151.00"},
                    "balanced": True,
                    "mismatches": [],
                }
            ]
        }
    )

    hospital_code: str
    date: str
    timezone: str
    bills_closed: CountAmount = Field(description="bills closed this day, at their closing amount")
    settlements: SettledDay = Field(description="settlements posted this day, by payer")
    refunds: RefundedDay
    outstanding: CountAmount = Field(description="bills unpaid at the end of the day")
    overdue: CountAmount = Field(description="of those, bills past their deadline")
    ledger: dict[str, MoneyText] = Field(description="the same figures recomputed from the ledger")
    balanced: bool = Field(description="every record figure equals its ledger figure")
    mismatches: list[str]
