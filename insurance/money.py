"""Money: the one place where amounts are parsed, rounded and split.

Every amount in Shuxin is a :class:`decimal.Decimal` in yuan while code works with it and an
integer number of fen when it is stored.  ``float`` is refused everywhere: a binary fraction cannot
say 0.1 exactly, and an amount that is silently rounded on the way in is an amount nobody asked
for.

The rounding rule is *half-up to the fen* (``ROUND_HALF_UP`` on ``Decimal("0.01")``); nothing else
in the code base rounds money.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
#: The largest amount the contract accepts in a request (yuan).
MAX_AMOUNT = Decimal("9999999.99")
FEN_PER_YUAN = 100

AmountInput = str | int | Decimal
#: How an amount is written as text: ASCII digits, an optional point with digits after it. No
#: sign but minus (refused as negative), no spaces, exponent, underscores or full-width digits,
#: although Python's ``Decimal`` reads them all.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class MoneyError(ValueError):
    """An amount that cannot be accepted: a float, too many places, not a number, out of range."""

    def __init__(self, message: str, *, code: str = "invalid_amount") -> None:
        super().__init__(message)
        self.code = code


def parse_decimal(
    value: object,
    *,
    places: int = 2,
    maximum: Decimal | None = MAX_AMOUNT,
    allow_zero: bool = True,
    name: str = "amount",
) -> Decimal:
    """Parse ``value`` into a Decimal without ever rounding it.

    Args:
        value: a ``str`` written as :data:`PLAIN_DECIMAL`, an ``int`` or a ``Decimal``. ``float``
            and ``bool`` are refused.
        places: the most decimal places accepted (2 for money, 6 for unit prices, 4 for counts).
        maximum: the largest value accepted, or ``None`` for no bound.
        allow_zero: whether ``0`` is acceptable.
        name: what the value is, for the error message.

    Raises:
        MoneyError: with a message naming ``name`` and what is wrong.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        kind = type(value).__name__
        raise MoneyError(f"{name} must be a string or an integer, not {kind}")
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value):
        raise MoneyError(
            f"{name} must be written as digits with an optional decimal point: {value!r}"
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MoneyError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise MoneyError(f"{name} must be a finite number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    if exponent < -places and number != number.quantize(Decimal(1).scaleb(-places)):
        raise MoneyError(f"{name} has more than {places} decimal places: {value}")
    if number < 0:
        raise MoneyError(f"{name} must not be negative: {value}")
    if not allow_zero and number == 0:
        raise MoneyError(f"{name} must be greater than zero")
    if maximum is not None and number > maximum:
        raise MoneyError(f"{name} must be at most {maximum}: {value}")
    return number.quantize(Decimal(1).scaleb(-places)) if exponent < -places else number


def parse_amount(value: object, *, name: str = "amount", allow_zero: bool = True) -> Decimal:
    """Parse a money amount of at most two places, 0 ≤ amount ≤ 9,999,999.99, as yuan."""
    return quantize_fen(parse_decimal(value, places=2, name=name, allow_zero=allow_zero))


def quantize_fen(value: Decimal) -> Decimal:
    """Round ``value`` to the fen, half-up. The only rounding rule in Shuxin."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    """Convert a yuan amount that is already exact to the fen into integer fen.

    Raises:
        MoneyError: if ``amount`` has a part smaller than a fen (round it first, on purpose).
    """
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyError(f"{amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    """Integer fen to a yuan Decimal with exactly two places."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(FEN)


def format_amount(amount: Decimal) -> str:
    """The contract's response form: a string with exactly two places (``"12.30"``)."""
    return f"{quantize_fen(amount):.2f}"


def format_fen(fen: int) -> str:
    """``format_amount(from_fen(fen))``, written from the integer: the stored amount as the
    contract's two-place string (``1230`` -> ``"12.30"``, ``-5`` -> ``"-0.05"``).

    An answer formats several amounts per fee line; the Decimal division and two quantizes cost
    ~2 µs each, the integer's digits a fraction of that (``tests/unit/foundation/test_money.py``
    holds it equal to the Decimal form for every integer).
    """
    whole, cents = divmod(-fen if fen < 0 else fen, FEN_PER_YUAN)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` into parts proportional to ``weights`` that add up to ``total`` exactly.

    Each part is first rounded *down* to the fen; the fen left over go, one each, to the parts with
    the largest remainders (ties to the earliest part). So no part is ever more than one fen from
    its exact share, and ``sum(parts) == total`` always.

    Args:
        total: an amount exact to the fen, not negative.
        weights: non-negative weights, not all zero (unless ``total`` is zero).

    Raises:
        MoneyError: on a negative or sub-fen total, negative weights or all-zero weights.
    """
    if total < 0 or quantize_fen(total) != total:
        raise MoneyError(f"cannot allocate {total}: it must be a non-negative amount in fen")
    if any(weight < 0 for weight in weights):
        raise MoneyError("allocation weights must not be negative")
    if not weights:
        raise MoneyError("allocation needs at least one weight")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        if total == 0:
            return [ZERO for _ in weights]
        raise MoneyError("cannot allocate a non-zero total over weights that are all zero")
    exact = [total * weight / weight_sum for weight in weights]
    parts = [share.quantize(FEN, rounding=ROUND_DOWN) for share in exact]
    left_over = int((total - sum(parts, ZERO)) / FEN)
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in by_remainder[:left_over]:
        parts[index] += FEN
    return parts
