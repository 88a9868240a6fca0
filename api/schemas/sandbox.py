"""Bodies of the sandbox calls (``/sandbox/v1``): insured persons and the service's clock."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, WithJsonSchema

from api.routes.auth import Phone
from api.schemas.types import Money, MoneyText, PsnNo, RequestModel, ResponseModel, Text50
from insurance.money import ZERO, parse_decimal

#: A year of hours: the most the clock moves in one call.
MAX_ADVANCE_HOURS = Decimal(24 * 365)


def _hours(value: object) -> Decimal:
    return parse_decimal(value, places=2, maximum=MAX_ADVANCE_HOURS, allow_zero=False, name="hours")


Hours = Annotated[
    Decimal,
    BeforeValidator(_hours),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,4}(\.\d{1,2})?$"},
                {"type": "number", "exclusiveMinimum": 0, "maximum": 8760},
            ],
            "examples": ["72"],
            "description": "more than 0, at most 8760 (a year), at most 2 decimal places",
        }
    ),
]


class YearToDate(RequestModel):
    act_pay_dedc: Money = Field(description="Deductible already consumed this policy year")
    hifp_pay: Money = Field(description="Pooled fund already paid this policy year")


class CreditProfile(RequestModel):
    rating: Literal["A", "B", "C", "D"] = Field(description="Public credit rating")
    dishonest: StrictBool = Field(description="On the dishonest-debtor list")
    contribution_months: StrictInt = Field(
        ge=0, le=1200, description="Months of continuous contribution"
    )


class InsuredPersonCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000099",
                    "certno": "371402198005010036",
                    "psn_name": "测试患者",
                    "phone": "13800138099",
                    "insutype": "310",
                    "psn_type": "11",
                    "balc": "500.00",
                    "ytd": {"act_pay_dedc": "0.00", "hifp_pay": "0.00"},
                    "credit": {"rating": "A", "dishonest": False, "contribution_months": 120},
                }
            ]
        },
    )

    psn_no: Annotated[PsnNo, Field(max_length=30)]
    certno: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            description="Resident ID number (18 characters, valid check character)",
            examples=["371402198005010036"],
        ),
    ]
    psn_name: Annotated[Text50, Field(examples=["测试患者"])]
    phone: Phone
    insutype: Annotated[
        str,
        Field(
            pattern=r"^[0-9]{3}$",
            description="310 employee basic (eligible), 390 residents (not eligible), …",
            examples=["310"],
        ),
    ]
    psn_type: Literal["11", "12"] = Field(description="11 in service, 12 retired")
    balc: Money = Field(description="Personal account balance")
    ytd: YearToDate = Field(
        default_factory=lambda: YearToDate(act_pay_dedc=ZERO, hifp_pay=ZERO),
        description="What this policy year has already used; omitted, nothing",
    )
    credit: CreditProfile
    status: Literal["active", "suspended"] = Field(
        default="active", description="The insurance status"
    )
    insuplc_admdvs: Annotated[
        str,
        Field(pattern=r"^[0-9]{6}$", description="Insurance region code", examples=["371400"]),
    ] = "371400"


class YearToDatePublic(ResponseModel):
    act_pay_dedc: MoneyText
    hifp_pay: MoneyText


class CreditProfilePublic(ResponseModel):
    rating: str
    dishonest: bool
    contribution_months: int


class InsuredPersonPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "37140000000000000099",
                    "certno": "3714**********0036",
                    "psn_name": "测试患者",
                    "phone": "13800138099",
                    "insutype": "310",
                    "psn_type": "11",
                    "status": "active",
                    "insuplc_admdvs": "371400",
                    "balc": "500.00",
                    "ytd": {"act_pay_dedc": "0.00", "hifp_pay": "0.00"},
                    "credit": {"rating": "A", "dishonest": False, "contribution_months": 120},
                }
            ]
        },
    )

    psn_no: str
    certno: str = Field(description="Masked: the first four and last four characters")
    psn_name: str
    phone: str
    insutype: str
    psn_type: str
    status: str
    insuplc_admdvs: str
    balc: MoneyText
    ytd: YearToDatePublic
    credit: CreditProfilePublic


class ClockAdvance(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"hours": "72"}]})

    hours: Hours


class ClockPublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"now": "2026-11-26T09:30:00+08:00"}]},
    )

    now: str = Field(description="The service's time after moving")


class ClockStatePublic(ResponseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "now": "2026-11-26T09:30:00+08:00",
                    "real_time": "2026-11-23T09:30:00+08:00",
                    "advanced_seconds": 259200,
                }
            ]
        },
    )

    now: str = Field(
        description="Business time: what deadlines, sweeps, visit days, reminders and policy "
        "years follow"
    )
    real_time: str = Field(
        description="The wall clock, which authentication follows (signature timestamps, "
        "nonces, login codes, tokens, rate limits); the test clock never moves it"
    )
    advanced_seconds: int = Field(
        ge=0, description="How far business time has been moved ahead of the wall clock"
    )
