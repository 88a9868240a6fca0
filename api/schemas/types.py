"""Constrained types shared by every request model, defined once."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic import BaseModel as PydanticModel

from insurance.money import MAX_AMOUNT, parse_decimal


class RequestModel(PydanticModel):
    """A request body: unknown fields are refused, strings are not silently coerced."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(PydanticModel):
    model_config = ConfigDict(extra="forbid")


def _decimal_validator(places: int, *, allow_zero: bool, name: str) -> Any:
    def validate(value: object) -> Decimal:
        return parse_decimal(
            value, places=places, maximum=MAX_AMOUNT, allow_zero=allow_zero, name=name
        )

    return validate


def _decimal_schema(places: int, example: str) -> dict[str, Any]:
    pattern = rf"^\d{{1,7}}(\.\d{{1,{places}}})?$"
    return {
        "anyOf": [
            {"type": "string", "pattern": pattern},
            {"type": "number", "minimum": 0, "maximum": 9999999.99},
        ],
        "examples": [example],
        "description": f"not negative, at most 9,999,999.99, at most {places} decimal places; "
        "a string is safest",
    }


#: A money amount in a request: string or number, at most 2 places, 0 ≤ x ≤ 9,999,999.99.
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_validator(2, allow_zero=True, name="amount")),
    WithJsonSchema(_decimal_schema(2, "12.30")),
]
#: A unit price (``pric``): up to 6 places.
UnitPrice = Annotated[
    Decimal,
    BeforeValidator(_decimal_validator(6, allow_zero=True, name="pric")),
    WithJsonSchema(_decimal_schema(6, "3.456789")),
]
#: A quantity (``cnt``): up to 4 places, more than zero.
Quantity = Annotated[
    Decimal,
    BeforeValidator(_decimal_validator(4, allow_zero=False, name="cnt")),
    WithJsonSchema(_decimal_schema(4, "2")),
]


#: A money amount in a response: always a string with exactly two places.
MoneyText = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["12.30"])]


def _must_be_visible(value: str) -> str:
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return value


VisibleText = Annotated[str, AfterValidator(_must_be_visible)]
Text50 = Annotated[VisibleText, StringConstraints(min_length=1, max_length=50)]
Text64 = Annotated[VisibleText, StringConstraints(min_length=1, max_length=64)]
Text100 = Annotated[VisibleText, StringConstraints(min_length=1, max_length=100)]
Text200 = Annotated[VisibleText, StringConstraints(min_length=1, max_length=200)]


#: An insured person's number on the insurance platform.
PsnNo = Annotated[
    str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,40}$"), Field(examples=["37140000000000000001"])
]


def _iso_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time with its offset, as a string")
    return value


#: A time with its offset (``2026-11-23T09:30:00+08:00``); no offset, or a number: refused.
Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_iso_text), Field(examples=["2026-11-23T09:30:00+08:00"])
]
