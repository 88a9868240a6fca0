from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurance.money import (
    MAX_AMOUNT,
    MoneyError,
    allocate,
    format_amount,
    format_fen,
    from_fen,
    parse_amount,
    parse_decimal,
    quantize_fen,
    to_fen,
)

fen_amounts = st.integers(min_value=0, max_value=999_999_999).map(from_fen)


def test_a_float_is_refused_even_when_it_looks_exact():
    with pytest.raises(MoneyError, match="not float"):
        parse_amount(12.5)


def test_a_bool_is_not_an_amount():
    with pytest.raises(MoneyError):
        parse_amount(True)


@pytest.mark.parametrize("text", ["12.345", "0.001", Decimal("1e-3")])
def test_more_than_two_places_is_refused_not_rounded(text):
    with pytest.raises(MoneyError, match="decimal places"):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "１０.００",
        "1_0.00",
        "1e1",
        "1e-3",
        "+10.00",
        " 10.00",
        "10.00\n",
        "10.",
        ".5",
        "0x10",
        "١٠",
    ],
)
def test_an_amount_is_plain_ascii_digits_with_an_optional_point(text):
    # Decimal() reads every one of these; the contract's money is digits and a point only.
    with pytest.raises(MoneyError, match="digits with an optional decimal point"):
        parse_amount(text)


def test_trailing_zeros_beyond_two_places_are_harmless():
    assert parse_amount("12.300") == Decimal("12.30")


@pytest.mark.parametrize("text", ["-0.01", "10000000.00", "NaN", "Infinity", "abc", ""])
def test_negative_absurd_and_non_numbers_are_refused(text):
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_the_maximum_is_accepted():
    assert parse_amount("9999999.99") == MAX_AMOUNT


def test_zero_can_be_refused_where_it_makes_no_sense():
    with pytest.raises(MoneyError, match="greater than zero"):
        parse_amount("0", allow_zero=False)


def test_unit_prices_accept_six_places():
    assert parse_decimal("1.234567", places=6) == Decimal("1.234567")
    with pytest.raises(MoneyError):
        parse_decimal("1.2345678", places=6)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9.995", "10.00"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),
        ("1.115", "1.12"),
    ],
)
def test_rounding_is_half_up_to_the_fen(value, expected):
    assert quantize_fen(Decimal(value)) == Decimal(expected)


def test_amounts_format_with_exactly_two_places():
    assert format_amount(Decimal("12.3")) == "12.30"
    assert format_amount(Decimal("0")) == "0.00"


def test_to_fen_refuses_sub_fen_amounts():
    with pytest.raises(MoneyError):
        to_fen(Decimal("0.001"))


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))  # any stored (BIGINT) amount
def test_fen_are_written_as_the_decimal_amount_is(fen):
    assert format_fen(fen) == format_amount(from_fen(fen))


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (-5, "-0.05"), (1230, "12.30"), (-100, "-1.00")]
)
def test_fen_are_written_with_two_places(fen, text):
    assert format_fen(fen) == text


@given(st.integers(min_value=0, max_value=10**12))
def test_fen_round_trips_exactly(fen):
    assert to_fen(from_fen(fen)) == fen


@given(
    fen_amounts,
    st.lists(
        st.integers(min_value=0, max_value=10**6).map(Decimal), min_size=1, max_size=20
    ).filter(lambda weights: sum(weights) > 0),
)
def test_allocation_parts_add_up_exactly_and_stay_within_a_fen_of_their_share(total, weights):
    parts = allocate(total, weights)
    assert sum(parts, Decimal(0)) == total
    assert all(part >= 0 and quantize_fen(part) == part for part in parts)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - total * weight / weight_sum) < Decimal("0.01")


@given(fen_amounts)
def test_allocating_over_equal_weights_differs_by_at_most_one_fen(total):
    parts = allocate(total, [Decimal(1)] * 3)
    assert max(parts) - min(parts) <= Decimal("0.01")
    assert sum(parts) == total


def test_allocation_refuses_a_total_with_nowhere_to_go():
    with pytest.raises(MoneyError):
        allocate(Decimal("1.00"), [Decimal(0), Decimal(0)])
    assert allocate(Decimal("0.00"), [Decimal(0)]) == [Decimal("0.00")]


def test_allocation_refuses_negative_or_sub_fen_totals():
    with pytest.raises(MoneyError):
        allocate(Decimal("-1.00"), [Decimal(1)])
    with pytest.raises(MoneyError):
        allocate(Decimal("1.001"), [Decimal(1)])
