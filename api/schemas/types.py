"""Constrained types shared by every request model, defined once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic import BaseModel as PydanticModel

from insurance.money import MAX_AMOUNT, parse_decimal


class RequestModel(PydanticModel):
    """A request body: unknown fields are refused, strings are not silently coerced, and no
    string holds a NUL character (no identifier or name has one; PostgreSQL cannot store it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        texts = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain the NUL character")
        return value


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
    if not value.strip():
        raise ValueError("must not be blank")
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


#: The contract's time: ISO 8601 date and time with an offset; seconds and fractions optional.
ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _iso_text(value: object) -> object:
    # Pydantic alone would also read "0" or "1700000000" as Unix seconds, and a date alone.
    if not isinstance(value, str) or not ISO_TIME.fullmatch(value):
        raise ValueError(
            "must be an ISO 8601 time with its offset, as a string: 2026-11-23T09:30:00+08:00"
        )
    return value


def _in_utc(value: datetime) -> datetime:
    # The service stores UTC: 0001-01-01T00:00:00+08:00 has no UTC time (it would overflow).
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


#: A time with its offset (``2026-11-23T09:30:00+08:00``), as UTC; no offset, a number, a date
#: alone or a time outside the calendar: refused. Whether it is plausible (a policy in force,
#: not far ahead) is the use case's question (``settlement.care.times``).
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_utc),
    Field(
        examples=["2026-11-23T09:30:00+08:00"],
        description="ISO 8601 with its offset (YYYY-MM-DDThh:mm[:ss[.ffffff]]±hh:mm or Z)",
    ),
]

#: The calendar days a ``date`` query may name: the day's bounds in any time zone stay inside
#: what the service can store and compare.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
_PLAIN_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _plain_day(value: object) -> object:
    # A time (2026-12-03T00:00:00) or a basic-format day (20261203) is not the contract's date.
    if isinstance(value, date) or not isinstance(value, str) or not _PLAIN_DAY.fullmatch(value):
        raise ValueError("must be a calendar date, YYYY-MM-DD")
    return value


def _within_calendar(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


#: A calendar day (``2026-11-23``), nothing more, between :data:`FIRST_DAY` and :data:`LAST_DAY`.
Day = Annotated[date, BeforeValidator(_plain_day), AfterValidator(_within_calendar)]


def _json_true(value: object) -> object:
    if value is not True:  # 1 == True in Python, and a lax Literal[True] would take it
        raise ValueError("must be the JSON true")
    return value


#: Consent: the JSON ``true`` itself (``1`` or ``"true"`` are not a signature).
Consent = Annotated[
    Literal[True], BeforeValidator(_json_true), Field(description="Must be the JSON true")
]
