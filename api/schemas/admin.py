"""Bodies of the administration calls (``/admin/v1``): catalogue items and the daily report."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema
from pydantic import field_validator as field_check
from pydantic.config import JsonDict

from api.schemas.figures import HOSPITAL_DAY_EXAMPLE, HospitalFigures
from api.schemas.types import (
    Money,
    MoneyText,
    RequestModel,
    ResponseModel,
    Text200,
    VisibleText,
)
from insurance.money import parse_decimal

RATIO_PLACES = 4


def _ratio(value: object) -> Decimal:
    return parse_decimal(value, places=RATIO_PLACES, maximum=Decimal(1), name="selfpay_prop")


#: A share in [0, 1] with at most four places (``0.1``, ``0.2000``).
Ratio = Annotated[
    Decimal,
    BeforeValidator(_ratio),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"},
                {"type": "number", "minimum": 0, "maximum": 1},
            ],
            "examples": ["0.2"],
            "description": "a share in [0, 1], at most 4 decimal places; a string is safest",
        }
    ),
]
Category = Annotated[VisibleText, Field(max_length=40, examples=["诊查费"])]


class CatalogueItemPut(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "item_name": "副主任医师诊查费",
                    "chrgitm_lv": "B",
                    "selfpay_prop": "0.2",
                    "pric_uplmt_amt": "50.00",
                }
            ]
        },
    )

    item_name: Annotated[Text200, Field(examples=["副主任医师诊查费"])]
    chrgitm_lv: Literal["A", "B", "C"] = Field(
        description="A fully in scope, B with a first self-pay share, C not covered"
    )
    selfpay_prop: Ratio | None = Field(
        default=None,
        description="Class B only: the first self-pay share; omitted, the policy default applies",
    )
    pric_uplmt_amt: Money | None = Field(
        default=None,
        description="The price cap per unit, money (at most 2 places); the part above it is "
        "self-paid",
    )
    category: Category | None = Field(
        default=None, description="A free grouping; omitted, an existing item keeps its own"
    )
    lmt_used_flag: bool = Field(
        default=False,
        description="Restricted use (限制使用, national lmt_used_flag): the fund pays for a line "
        "of it "
        "only where the hospital approved its use; a line sent with hosp_appr_flag 2 (not "
        "approved) is all self-paid. Class A and B only",
    )

    @field_check("lmt_used_flag")
    @classmethod
    def _not_class_c(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("chrgitm_lv") == "C":
            raise ValueError("a class C item is all self-paid: it cannot be restricted")
        return value

    @field_check("selfpay_prop")
    @classmethod
    def _only_class_b(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is not None and info.data.get("chrgitm_lv", "B") != "B":
            raise ValueError("only class B items carry a first self-pay share")
        return value


class CatalogueItemPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "med_list_codg": "001102000040000",
                    "item_name": "副主任医师诊查费",
                    "chrgitm_lv": "B",
                    "selfpay_prop": "0.2",
                    "pric_uplmt_amt": "50.00",
                    "category": "诊查费",
                    "lmt_used_flag": False,
                    "updated_at": "2026-11-23T09:30:00+08:00",
                }
            ]
        },
    )

    med_list_codg: str
    item_name: str
    chrgitm_lv: Literal["A", "B", "C"]
    selfpay_prop: str | None = Field(description="null: the policy default applies (class B)")
    pric_uplmt_amt: str | None
    category: str
    lmt_used_flag: bool = Field(description="restricted use: insured only with approval")
    updated_at: str


class HospitalVisits(ResponseModel):
    hospital_code: str = Field(description="The hospital; `*` in `totals`")
    hospital_name: str = Field(description="Its name; empty in `totals`")
    visits_opened: int = Field(description="Visits opened on the day (2201)")
    patients_seen: int = Field(
        description="Distinct patients among those visits (in `totals`, a patient seen at two "
        "hospitals counts once)"
    )


class HospitalDayPublic(HospitalFigures, HospitalVisits):
    """A hospital's day; its money figures are its reconciliation's (3201) for the same day."""

    bills_due: int = Field(description="Bills with something to pay whose deadline fell on the day")
    went_overdue: int = Field(description="Of `bills_due`, those that went overdue")
    overdue_rate: str | None = Field(
        description="`went_overdue` / `bills_due`, 4 places; null when no bill fell due",
        examples=["0.0250"],
    )


class SchemeDayPublic(ResponseModel):
    """The scheme's day: sign-ups and credit belong to no hospital."""

    signed_patients_day: int = Field(description="Patients who signed the agreement on the day")
    signed_patients_total: int = Field(
        description="Patients with a signature in force at the end of the day"
    )
    active_lines: int = Field(description="Patients whose credit is active at the end of the day")
    credit_granted: MoneyText = Field(description="The sum of those active lines, yuan")
    credit_in_use: MoneyText = Field(
        description="The credit every hospital's unpaid bills use at the end of the day (the "
        "sum of the hospitals' `outstanding`; visits close by the end of their day, so no hold "
        "is left then), whichever hospital was asked for"
    )


_DAY_EXAMPLE = {
    "visits_opened": 4,
    "patients_seen": 4,
    **HOSPITAL_DAY_EXAMPLE,
    "bills_due": 40,
    "went_overdue": 1,
    "overdue_rate": "0.0250",
}


class DailyReportPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-11-23",
                    "timezone": "Asia/Shanghai",
                    "scheme": {
                        "signed_patients_day": 12,
                        "signed_patients_total": 43000,
                        "active_lines": 42750,
                        "credit_granted": "30015000.00",
                        "credit_in_use": "75.00",
                    },
                    "hospitals": [
                        {
                            "hospital_code": "H37140200001",
                            "hospital_name": "德州市人民医院",
                            **_DAY_EXAMPLE,
                        }
                    ],
                    "totals": {"hospital_code": "*", "hospital_name": "", **_DAY_EXAMPLE},
                }
            ]
        },
    )

    date: str = Field(description="The local calendar day, YYYY-MM-DD")
    timezone: str = Field(description="Days are calendar days in this zone")
    scheme: SchemeDayPublic = Field(
        description="Sign-ups and credit are the scheme's, not a hospital's"
    )
    hospitals: list[HospitalDayPublic] = Field(
        description="Each hospital's day (only the one asked for, with `hospital`)"
    )
    totals: HospitalDayPublic = Field(description="The hospitals listed, together")


POLICY_EXAMPLE: JsonDict = {
    "region_code": "371400",
    "region_name": "德州市",
    "version": "2026.1",
    "effective_from": "2026-01-01",
    "effective_to": None,
    "settlement_mode": "repayment",
    "deductible": "200.00",
    "policy_year_start_month": 1,
}


class PolicyPublic(ResponseModel):
    """One version of a region's insurance policy, as loaded from ``seeds/policies``."""

    model_config = ConfigDict(json_schema_extra={"examples": [POLICY_EXAMPLE]})

    region_code: str
    region_name: str
    version: str
    effective_from: str = Field(description="YYYY-MM-DD, the first day it is in force")
    effective_to: str | None = Field(description="YYYY-MM-DD, its last day; null: open-ended")
    settlement_mode: Literal["repayment", "visit_end"] = Field(
        description="when the pooled fund's share settles: at the patient's repayment "
        "(`repayment`, everything on credit until then) or when the visit closes (`visit_end`, "
        "only the personal part on credit)"
    )
    deductible: MoneyText = Field(description="the deductible per policy year")
    policy_year_start_month: int


class PolicyListPublic(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"policies": [POLICY_EXAMPLE]}]})

    policies: list[PolicyPublic] = Field(description="every version, by region then start")
