"""Bodies of the administration calls (``/admin/v1``): catalogue items and the daily report."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema
from pydantic import field_validator as field_check

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
    updated_at: str


class PayerAmountsPublic(ResponseModel):
    medfee_sumamt: MoneyText
    fund_pay_sumamt: MoneyText
    acct_pay: MoneyText
    psn_cash_pay: MoneyText


class HospitalDayPublic(ResponseModel):
    hospital_code: str = Field(description="`*` in `totals`")
    hospital_name: str
    visits_opened: int
    patients_seen: int = Field(description="Distinct patients among the visits opened")
    bills_closed: int
    amounts: PayerAmountsPublic = Field(
        description="Sums over the bills closed, from their estimates at close (2206)"
    )
    bills_due: int = Field(description="Bills whose 72-hour deadline fell on the day")
    overdue: int = Field(description="Of the bills due, those that went overdue")
    overdue_rate: str | None = Field(
        description="overdue / bills_due with 4 places; null when no bill fell due",
        examples=["0.0250"],
    )


class SchemeDayPublic(ResponseModel):
    signed_patients_day: int = Field(description="Patients who signed the agreement on the day")
    signed_patients_total: int = Field(description="Patients with a signature in force at its end")
    active_lines: int = Field(description="Patients whose credit is active at the end of the day")
    credit_granted: MoneyText = Field(description="The sum of those active lines")


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
                    },
                    "hospitals": [
                        {
                            "hospital_code": "H37140200001",
                            "hospital_name": "德州市人民医院",
                            "visits_opened": 58,
                            "patients_seen": 57,
                            "bills_closed": 55,
                            "amounts": {
                                "medfee_sumamt": "8123.40",
                                "fund_pay_sumamt": "2210.15",
                                "acct_pay": "4120.00",
                                "psn_cash_pay": "1793.25",
                            },
                            "bills_due": 40,
                            "overdue": 1,
                            "overdue_rate": "0.0250",
                        }
                    ],
                    "totals": {
                        "hospital_code": "*",
                        "hospital_name": "",
                        "visits_opened": 58,
                        "patients_seen": 57,
                        "bills_closed": 55,
                        "amounts": {
                            "medfee_sumamt": "8123.40",
                            "fund_pay_sumamt": "2210.15",
                            "acct_pay": "4120.00",
                            "psn_cash_pay": "1793.25",
                        },
                        "bills_due": 40,
                        "overdue": 1,
                        "overdue_rate": "0.0250",
                    },
                }
            ]
        },
    )

    date: str
    timezone: str = Field(description="Days are calendar days in this zone")
    scheme: SchemeDayPublic = Field(
        description="Sign-ups and credit are the scheme's, not a hospital's"
    )
    hospitals: list[HospitalDayPublic]
    totals: HospitalDayPublic
