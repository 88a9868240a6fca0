"""Pricing of one fee line (2204): classes, shares, price caps, half-up rounding, bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from insurance.errors import InvalidAmountError, InvalidFeeLineError, TooManyPlacesError
from insurance.pricing import FeeLine, PricedLine, line_amount
from tests.unit.insurance.builders import (
    CLASS_A,
    CLASS_A_CAPPED,
    CLASS_B,
    CLASS_B_CAPPED,
    CLASS_B_OWN,
    CLASS_C,
    UNLISTED,
    priced,
)


def parts(line: PricedLine) -> tuple[str, str, str, str, str]:
    return (
        str(line.det_item_fee_sumamt),
        str(line.fulamt_ownpay_amt),
        str(line.overlmt_amt),
        str(line.preselfpay_amt),
        str(line.inscp_scp_amt),
    )


def assert_identity(line: PricedLine) -> None:
    assert line.det_item_fee_sumamt == (
        line.fulamt_ownpay_amt + line.overlmt_amt + line.preselfpay_amt + line.inscp_scp_amt
    )


@pytest.mark.parametrize(
    ("pric", "cnt", "amount"),
    [
        ("12.50", "3", "37.50"),
        ("0.125", "1", "0.13"),  # half-up, not half-even
        ("1.005", "1", "1.01"),  # a binary float would say 1.00
        ("3.333333", "3", "10.00"),
        ("0.333333", "0.5", "0.17"),
        ("9999999.99", "1", "9999999.99"),
        ("0", "2", "0.00"),
    ],
)
def test_the_line_amount_is_pric_times_cnt_rounded_half_up_to_the_fen(
    pric: str, cnt: str, amount: str
) -> None:
    assert line_amount(Decimal(pric), Decimal(cnt)) == Decimal(amount)


def test_a_class_a_line_is_wholly_in_scope() -> None:
    line = priced("1", CLASS_A, "12.50", "3")
    assert parts(line) == ("37.50", "0.00", "0.00", "0.00", "37.50")
    assert line.chrgitm_lv == "A"
    assert line.selfpay_prop == 0
    assert not line.unlisted


def test_a_class_b_line_pays_the_policy_default_first_ten_percent() -> None:
    line = priced("1", CLASS_B, "100.00")
    assert parts(line) == ("100.00", "0.00", "0.00", "10.00", "90.00")
    assert line.selfpay_prop == Decimal("0.10")


def test_class_b_first_self_pay_rounds_half_up_so_9_995_becomes_10_00() -> None:
    line = priced("1", CLASS_B, "99.95")
    assert parts(line) == ("99.95", "0.00", "0.00", "10.00", "89.95")
    assert_identity(line)


def test_class_b_first_self_pay_below_the_half_fen_rounds_down() -> None:
    line = priced("1", CLASS_B, "99.94")  # 9.994
    assert parts(line) == ("99.94", "0.00", "0.00", "9.99", "89.95")


def test_a_class_b_item_with_its_own_share_uses_it_instead_of_the_default() -> None:
    line = priced("1", CLASS_B_OWN, "50.00", "2")
    assert parts(line) == ("100.00", "0.00", "0.00", "20.00", "80.00")
    assert line.selfpay_prop == Decimal("0.20")


def test_the_policy_default_share_is_configuration_not_a_constant() -> None:
    line = priced("1", CLASS_B, "100.00", class_b_selfpay_prop=Decimal("0.15"))
    assert parts(line) == ("100.00", "0.00", "0.00", "15.00", "85.00")


def test_a_price_above_the_cap_makes_the_excess_times_cnt_over_limit() -> None:
    line = priced("1", CLASS_A_CAPPED, "12.50", "3")  # cap 10.00
    assert parts(line) == ("37.50", "0.00", "7.50", "0.00", "30.00")
    assert line.pric_uplmt_amt == Decimal("10.00")


def test_a_price_at_or_below_the_cap_has_nothing_over_limit() -> None:
    assert priced("1", CLASS_A_CAPPED, "10.00", "2").overlmt_amt == 0
    assert priced("1", CLASS_A_CAPPED, "9.99", "2").overlmt_amt == 0


def test_a_capped_class_b_line_takes_the_first_share_after_the_excess() -> None:
    line = priced("1", CLASS_B_CAPPED, "60.00", "2")  # cap 50.00, share 10 %
    assert parts(line) == ("120.00", "0.00", "20.00", "10.00", "90.00")


def test_rounding_of_a_capped_line_is_absorbed_by_the_in_scope_part() -> None:
    line = priced("1", CLASS_A_CAPPED, "10.005", "1")  # 10.01 of which 0.005 → 0.01 over
    assert parts(line) == ("10.01", "0.00", "0.01", "0.00", "10.00")
    line = priced("2", CLASS_B_CAPPED, "50.333333", "3")  # 151.00; over 0.999999 → 1.00
    assert parts(line) == ("151.00", "0.00", "1.00", "15.00", "135.00")
    assert_identity(line)


def test_a_class_c_line_is_wholly_paid_by_the_patient() -> None:
    line = priced("1", CLASS_C, "88.00")
    assert parts(line) == ("88.00", "88.00", "0.00", "0.00", "0.00")
    assert line.chrgitm_lv == "C"
    assert line.selfpay_prop == 1
    assert not line.unlisted


def test_an_unlisted_code_prices_as_class_c_and_is_flagged() -> None:
    line = priced("1", UNLISTED, "45.00", "0.5")
    assert parts(line) == ("22.50", "22.50", "0.00", "0.00", "0.00")
    assert line.chrgitm_lv == "C"
    assert line.unlisted


def test_the_priced_line_in_contract_form_has_two_place_strings() -> None:
    body = priced("7", CLASS_B, "99.95").as_dict()
    assert body["det_item_fee_sumamt"] == "99.95"
    assert body["preselfpay_amt"] == "10.00"
    assert body["fulamt_ownpay_amt"] == "0.00"
    assert body["selfpay_prop"] == "0.10"
    assert body["chrgitm_lv"] == "B"
    assert body["feedetl_sn"] == "7"


def test_pric_and_cnt_may_be_given_as_strings_or_integers() -> None:
    line = FeeLine("1", CLASS_A, "x", "12.500000", 3)  # type: ignore[arg-type]
    assert line.pric == Decimal("12.5")
    assert line.cnt == Decimal(3)


def test_a_pric_with_seven_places_is_refused_naming_pric() -> None:
    with pytest.raises(TooManyPlacesError) as caught:
        FeeLine("1", CLASS_A, "x", Decimal("1.1234567"), Decimal(1))
    assert caught.value.field == "pric"
    assert caught.value.code == "too_many_places"
    assert "pric" in caught.value.message


def test_a_cnt_with_five_places_is_refused_naming_cnt() -> None:
    with pytest.raises(TooManyPlacesError) as caught:
        FeeLine("1", CLASS_A, "x", Decimal(1), Decimal("1.00001"))
    assert caught.value.field == "cnt"


@pytest.mark.parametrize(
    ("pric", "cnt", "field"),
    [
        ("-1.00", "1", "pric"),
        ("1.00", "-1", "cnt"),
        ("1.00", "0", "cnt"),
        ("10000000.00", "1", "pric"),  # above 9,999,999.99
        ("NaN", "1", "pric"),
        ("twelve", "1", "pric"),
        ("9999999.99", "2", "det_item_fee_sumamt"),  # the line itself is absurd
    ],
)
def test_negative_zero_count_or_absurd_amounts_are_refused_naming_the_field(
    pric: str, cnt: str, field: str
) -> None:
    with pytest.raises(InvalidAmountError) as caught:
        FeeLine("1", CLASS_A, "x", pric, cnt)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_float_price_is_refused_not_rounded() -> None:
    with pytest.raises(InvalidAmountError, match="float"):
        FeeLine("1", CLASS_A, "x", 0.1, Decimal(1))  # type: ignore[arg-type]


def test_an_empty_code_or_serial_number_is_refused() -> None:
    with pytest.raises(InvalidFeeLineError) as caught:
        FeeLine("1", "", "x", Decimal(1), Decimal(1))
    assert caught.value.field == "med_list_codg"
    with pytest.raises(InvalidFeeLineError) as caught:
        FeeLine("", CLASS_A, "x", Decimal(1), Decimal(1))
    assert caught.value.field == "feedetl_sn"
