"""Bodies of the HIS calls (``/his/v1``), with the national platform's field names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from api.national.setlinfo import line_extras
from api.schemas.figures import HOSPITAL_DAY_EXAMPLE, HospitalFigures
from api.schemas.setlinfo import (
    HIS_SETLINFO_EXAMPLE,
    SETLDETAIL_EXAMPLE,
    HisSetlInfoPublic,
    SetlDetailPublic,
)
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

# -- examples: one visit, as the service answers it ---------------------------------------------
# A level-3 hospital; the patient's line is 800.00, 100.00 of this year's 200.00 deductible is
# used and the personal account holds 100.00. Four lines are posted, the ECG is cancelled, the
# visit closes at 11:00 into a bill of 240.00. Every code is in the seeded catalogue (seeds/).
EXAMPLE_MDTRT_ID = "MD20261123A1B2C3D4E5F6"
EXAMPLE_BILL_ID = "BL20261123A1B2C3D4E5F6"
EXAMPLE_CHRG_BCHNO = "CB20261123000001"


def _line(sn: str, codg: str, name: str, pric: str) -> JsonDict:
    """A line of the example batch: one of each, nothing over its catalogue price cap."""
    return {
        "feedetl_sn": sn,
        "med_list_codg": codg,
        "item_name": name,
        "pric": pric,
        "cnt": "1",
        "det_item_fee_sumamt": pric,
        "fee_ocur_time": "2026-11-23T09:45:00+08:00",
    }


_REQUEST_LINES: list[JsonDict] = [
    _line("F0001", "001102000030000", "主任医师门诊诊查费", "30.00"),
    _line("F0002", "002203020010000", "心脏彩色多普勒超声", "180.00"),
    _line("F0003", "003107010010000", "常规心电图检查", "20.00"),
    _line("F0004", "001110000030000", "心理咨询", "30.00"),
]
FEE_BATCH_REQUEST_EXAMPLE: JsonDict = {"chrg_bchno": EXAMPLE_CHRG_BCHNO, "fees": [*_REQUEST_LINES]}
#: How each line prices: chrgitm_lv, selfpay_prop, fulamt_ownpay_amt, preselfpay_amt,
#: inscp_scp_amt, the catalogue's price cap (class A in scope; class B's first 10 % self-paid;
#: class C all self-paid).
_PRICED = {
    "F0001": ("A", "0.00", "0.00", "0.00", "30.00", "30.00"),
    "F0002": ("B", "0.10", "0.00", "18.00", "162.00", "180.00"),
    "F0003": ("A", "0.00", "0.00", "0.00", "20.00", "20.00"),
    "F0004": ("C", "1.00", "30.00", "0.00", "0.00", None),
}


def _fee_examples(*statuses: str) -> list[JsonValue]:
    """The example batch's lines as the service answers them, in ``statuses`` (one per line)."""
    answer: list[JsonValue] = []
    for line, status in zip(_REQUEST_LINES, statuses, strict=True):
        lv, prop, fulamt, preself, inscp, cap = _PRICED[str(line["feedetl_sn"])]
        answer.append(
            {
                "feedetl_sn": line["feedetl_sn"],
                "chrg_bchno": EXAMPLE_CHRG_BCHNO,
                **{k: line[k] for k in ("med_list_codg", "item_name", "pric", "cnt")},
                "det_item_fee_sumamt": line["det_item_fee_sumamt"],
                "chrgitm_lv": lv,
                "selfpay_prop": prop,
                "fulamt_ownpay_amt": fulamt,
                "overlmt_amt": "0.00",
                "preselfpay_amt": preself,
                "inscp_scp_amt": inscp,
                "unlisted": False,
                "pric_uplmt_amt": cap,
                **line_extras(unlisted=False),
                "fee_ocur_time": line["fee_ocur_time"],
                "status": status,
            }
        )
    return answer


_VISIT_EXAMPLE: JsonDict = {
    "mdtrt_id": EXAMPLE_MDTRT_ID,
    "ipt_otp_no": "MZ20261123000123",
    "psn_no": "37140000000000000001",
    "med_type": "11",
    "dept_code": "A03.01",
    "dept_name": "心血管内科",
    "dr_name": "王医生",
    "begntime": "2026-11-23T09:30:00+08:00",
}
#: ``POST /visits``: open, nothing charged yet.
VISIT_OPENED_EXAMPLE: JsonDict = {
    **_VISIT_EXAMPLE,
    "status": "open",
    "medfee_sumamt": "0.00",
    "available": "800.00",
    "fees": [],
    "bill_id": None,
    "closed_at": None,
}
#: ``POST /visits/{mdtrt_id}/fees``: the four lines held against the line.
FEE_BATCH_EXAMPLE: JsonDict = {
    "mdtrt_id": EXAMPLE_MDTRT_ID,
    "chrg_bchno": EXAMPLE_CHRG_BCHNO,
    "fees": _fee_examples("held", "held", "held", "held"),
    "medfee_sumamt": "260.00",
    "available": "540.00",
}
#: ``DELETE /visits/{mdtrt_id}/fees/F0003``: the ECG cancelled, its hold released.
VISIT_AFTER_CANCEL_EXAMPLE: JsonDict = {
    **_VISIT_EXAMPLE,
    "status": "open",
    "medfee_sumamt": "240.00",
    "available": "560.00",
    "fees": _fee_examples("held", "held", "cancelled", "held"),
    "bill_id": None,
    "closed_at": None,
}
#: ``GET /visits/{mdtrt_id}`` once closed: the lines billed, the bill named.
VISIT_CLOSED_EXAMPLE: JsonDict = {
    **_VISIT_EXAMPLE,
    "status": "closed",
    "medfee_sumamt": "240.00",
    "available": "560.00",
    "fees": _fee_examples("billed", "billed", "cancelled", "billed"),
    "bill_id": EXAMPLE_BILL_ID,
    "closed_at": "2026-11-23T11:00:00+08:00",
}
PRESETTLE_EXAMPLE: JsonDict = {
    "mdtrt_id": EXAMPLE_MDTRT_ID,
    "setlinfo": {**HIS_SETLINFO_EXAMPLE, "medins_setl_id": ""},
    "setldetail": SETLDETAIL_EXAMPLE,
}
CLOSE_EXAMPLE: JsonDict = {
    "mdtrt_id": EXAMPLE_MDTRT_ID,
    "bill_id": EXAMPLE_BILL_ID,
    "status": "billed",
    "medfee_sumamt": "240.00",
    "closed_at": "2026-11-23T11:00:00+08:00",
    "due_at": "2026-11-26T11:00:00+08:00",
    "settlement_mode": "repayment",
    "fund_settled_amt": "0.00",
    "credit_amt": "240.00",
    "estimate": HIS_SETLINFO_EXAMPLE,
    "setldetail": SETLDETAIL_EXAMPLE,
}
#: The regional policy's settlement mode a bill was closed under (``insurance.modes``).
SettlementMode = Literal["repayment", "visit_end"]
SETTLEMENT_MODE_DESCRIPTION = (
    "the regional policy's settlement mode when the visit closed: `repayment` (everything "
    "settles when the patient repays) or `visit_end` (the pooled fund's share settled at close, "
    "only the personal part on credit)"
)
FUND_SETTLED_DESCRIPTION = (
    "the pooled fund's share settled when the visit closed (`visit_end`, after refunds); "
    "`0.00` in `repayment`, where the fund pays at repayment"
)
CREDIT_AMT_DESCRIPTION = (
    "what the patient's credit carries for the bill, paid to the hospital by payment channel 14 "
    "(信用就医): `medfee_sumamt` in `repayment`, the personal part in `visit_end`"
)


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
        # The visit of the answers' examples, as the HIS sends it (no mdtrt_id yet).
        json_schema_extra={
            "examples": [{k: v for k, v in _VISIT_EXAMPLE.items() if k != "mdtrt_id"}]
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
            examples=["001102000030000"],
        ),
    ]
    item_name: Annotated[Text200, Field(examples=["主任医师门诊诊查费"])]
    pric: UnitPrice
    cnt: Quantity
    det_item_fee_sumamt: Money
    fee_ocur_time: Timestamp
    hosp_appr_flag: Literal["0", "1", "2"] | None = Field(
        default=None,
        description="National 医院审批标志 for a restricted-use item (the catalogue's "
        "lmt_used_flag 1): 0 no approval needed, 1 approved, 2 not approved (the line is then "
        "all self-paid). Ignored for other items",
    )


class FeeBatchCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [FEE_BATCH_REQUEST_EXAMPLE]}
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
    pric_uplmt_amt: str | None = Field(
        description="the catalogue's price cap (national 2204); null when it sets none"
    )
    med_chrgitm_type: str = Field(
        description="national charge-item category: 14 (other) until the catalogue carries one"
    )
    lmt_used_flag: str = Field(
        description="restricted use (the catalogue's 限制使用): 1 or 0; a restricted line sent "
        "with "
        "hosp_appr_flag 2 is all self-paid (fulamt_ownpay_amt) and its memo says why"
    )
    bas_medn_flag: str = Field(description="essential medicine: 0 (not in the catalogue)")
    hi_nego_drug_flag: str = Field(description="negotiated drug: 0 (not in the catalogue)")
    chld_medc_flag: str = Field(description="children's medicine: 0 (not in the catalogue)")
    list_sp_item_flag: str = Field(description="special item: 0 (not in the catalogue)")
    drt_reim_flag: str = Field(description="direct reimbursement: 0")
    memo: str = Field(
        description="why a line is all self-paid: not in the catalogue, or restricted use not "
        "approved"
    )
    fee_ocur_time: str
    status: Literal["held", "cancelled", "billed", "refunded"]


class FeeBatchPublic(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FEE_BATCH_EXAMPLE]})

    mdtrt_id: str
    chrg_bchno: str
    fees: list[FeePublic]
    medfee_sumamt: MoneyText = Field(description="the visit's total of lines on hold or billed")
    available: MoneyText


class VisitPublic(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [VISIT_CLOSED_EXAMPLE]})

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


class PresettlePublic(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PRESETTLE_EXAMPLE]})

    mdtrt_id: str
    setlinfo: HisSetlInfoPublic
    setldetail: list[SetlDetailPublic] = Field(description="what each fund would pay")


class ClosePublic(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CLOSE_EXAMPLE]})

    mdtrt_id: str
    bill_id: str
    status: str = Field(
        description="the bill's status: `billed` (waiting for the patient), or `settled`: the "
        "pooled fund and the patient's own personal account cover it entirely (the estimate's "
        "`psn_cash_pay` is 0.00), so it was settled from them when it was made (signing the "
        "agreement consents to it; `GET /his/v1/bills/{bill_id}` reads the final split), or the "
        "visit was empty"
    )
    medfee_sumamt: MoneyText
    closed_at: str
    due_at: str
    settlement_mode: SettlementMode = Field(description=SETTLEMENT_MODE_DESCRIPTION)
    fund_settled_amt: MoneyText = Field(description=FUND_SETTLED_DESCRIPTION)
    credit_amt: MoneyText = Field(description=CREDIT_AMT_DESCRIPTION)
    estimate: HisSetlInfoPublic
    setldetail: list[SetlDetailPublic] = Field(description="what each fund would pay (estimate)")


class DayHeader(ResponseModel):
    hospital_code: str = Field(description="The calling hospital")
    date: str = Field(description="The local calendar day, YYYY-MM-DD")
    timezone: str = Field(description="The zone the day is a calendar day in")


class ReconciliationPublic(HospitalFigures, DayHeader):
    """The hospital's day (the same figures as its row in the daily report), and the ledger."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hospital_code": "H371402001",
                    "date": "2026-11-23",
                    "timezone": "Asia/Shanghai",
                    **HOSPITAL_DAY_EXAMPLE,
                    "ledger": {
                        "charges_posted": "185.00",
                        "charges_refunded": "50.00",
                        "psn_cash_pay_posted": "49.50",
                        "psn_cash_pay_returned": "30.00",
                    },
                    "balanced": True,
                    "mismatches": [],
                }
            ]
        }
    )

    ledger: dict[str, MoneyText] = Field(
        description="The money figures recomputed from the ledger's transfers: "
        "`charges_posted` (= `bills_closed.amount`), `charges_refunded` "
        "(= `refunds.medfee_sumamt`), and per payer `<payer>_posted` (= `settlements`) and "
        "`<payer>_returned` (= `refunds.returned`)"
    )
    balanced: bool = Field(description="Every record figure equals its ledger figure")
    mismatches: list[str] = Field(description="The figures that differ, records against ledger")
