"""Parsing of input values into Decimals, raising the insurance domain's typed errors."""

from __future__ import annotations

from decimal import Decimal

from insurance.errors import InvalidAmountError, TooManyPlacesError
from insurance.money import MAX_AMOUNT, MoneyError, parse_decimal, quantize_fen

RATIO_PLACES = 4


def parse_value(
    value: object,
    *,
    name: str,
    places: int = 2,
    maximum: Decimal | None = MAX_AMOUNT,
    allow_zero: bool = True,
) -> Decimal:
    """Parse ``value`` with :func:`insurance.money.parse_decimal`, never rounding.

    Args:
        value: a ``str``, ``int`` or ``Decimal`` (``float`` is refused).
        name: the field name, used in the error.
        places: the most decimal places accepted.
        maximum: the largest value accepted (``None``: unbounded).
        allow_zero: whether zero is acceptable.

    Raises:
        TooManyPlacesError: the value has more than ``places`` significant decimal places.
        InvalidAmountError: any other refusal (a float, negative, above ``maximum``, not a number).
    """
    try:
        return parse_decimal(
            value, places=places, maximum=maximum, allow_zero=allow_zero, name=name
        )
    except MoneyError as error:
        # parse_decimal has one message for the places case; keep the code distinct for callers.
        kind = TooManyPlacesError if "decimal places" in str(error) else InvalidAmountError
        raise kind(str(error), field=name) from None


def parse_money(value: object, *, name: str) -> Decimal:
    """Parse a money amount: at most two places, 0 ≤ amount ≤ 9,999,999.99; two places out."""
    return quantize_fen(parse_value(value, name=name))


def parse_ratio(value: object, *, name: str) -> Decimal:
    """Parse a ratio in [0, 1] with at most four places (``"0.70"``, ``"0.055"``)."""
    return parse_value(value, name=name, places=RATIO_PLACES, maximum=Decimal(1))
