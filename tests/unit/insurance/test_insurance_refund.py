"""Reversal and re-settlement (2208): every source gets back what it paid; accumulators first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from insurance.errors import InvalidAmountError, UnknownFeeLineError
from insurance.refund import resettle, reverse
from insurance.split import Accumulators, RelativeAccount
from tests.unit.insurance.builders import CLASS_C, a_line, money, priced, split


def test_a_reversal_gives_every_source_back_exactly_what_it_paid() -> None:
    child = RelativeAccount("P-CHILD", "parent", Decimal("100.00"))
    original = split(
        [a_line("1200.00", "1"), priced("2", CLASS_C, "50.00")],
        balance="300.00",
        relatives=[child],
    )
    assert money(original)["psn_part_amt"] == "550.00"
    reversal = reverse(original)
    assert reversal.hifp_pay == Decimal("700.00")
    assert reversal.acct_own_pay == Decimal("300.00")
    assert reversal.mutual_aid == {"P-CHILD": Decimal("100.00")}
    assert reversal.psn_cash_pay == Decimal("150.00")
    assert reversal.medfee_sumamt == Decimal("1250.00")
    assert reversal.balc == Decimal("300.00")
    assert reversal.relative_balances == {"P-CHILD": Decimal("100.00")}
    assert reversal.accumulators == Accumulators(2026, Decimal("0.00"), Decimal("0.00"))
    assert reversal.as_dict()["acct_pay"] == "400.00"


def test_refunding_one_line_restores_the_deductible_before_settling_the_rest() -> None:
    original = split([a_line("150.00", "1"), a_line("100.00", "2")], deductible_used="0.00")
    assert money(original)["act_pay_dedc"] == "200.00"
    assert money(original)["hifp_pay"] == "35.00"
    result = resettle(original, refunded=["1"])
    again = money(result.settlement)
    # Had line 1 never been there, line 2 alone would consume 100 of the deductible.
    assert again["medfee_sumamt"] == "100.00"
    assert again["act_pay_dedc"] == "100.00"
    assert again["hifp_pay"] == "0.00"
    assert result.settlement.accumulators.deductible_used == Decimal("100.00")
    assert [line.feedetl_sn for line in result.refunded] == ["1"]


def test_a_partial_refund_moves_money_back_and_recharges_the_remaining_lines() -> None:
    original = split([a_line("1200.00", "1"), a_line("300.00", "2")], balance="1000.00")
    result = resettle(original, refunded=["2"])
    assert result.reversal.acct_own_pay == Decimal("590.00")  # 1500 − 910 from the fund
    assert result.reversal.balc == Decimal("1000.00")
    again = money(result.settlement)
    assert again["acct_pay"] == "500.00"
    assert again["balc"] == "500.00"
    # Net effect for the patient: 90 back to the account (the refunded line's personal share).
    assert (
        original.setlinfo.balc + result.reversal.acct_own_pay - result.settlement.acct_own_pay
        == (Decimal("500.00"))
    )


def test_refunding_every_line_leaves_an_empty_settlement_and_everything_as_it_started() -> None:
    child = RelativeAccount("P-CHILD", "parent", Decimal("80.00"))
    original = split(
        [a_line("900.00", "1"), priced("2", CLASS_C, "20.00")],
        deductible_used="50.00",
        hifp_paid="10.00",
        balance="40.00",
        relatives=[child],
    )
    result = resettle(original, refunded=["1", "2"])
    assert set(money(result.settlement).values()) <= {"0.00", "40.00", "0.70"}
    assert result.settlement.setlinfo.balc == Decimal("40.00")
    assert result.settlement.accumulators == original.accumulators_before
    assert result.settlement.mutual_aid[0].balc == Decimal("80.00")


def test_a_reversal_after_another_bill_subtracts_from_the_current_accumulators() -> None:
    first = split([a_line("300.00", "1")])
    second = split(
        [a_line("100.00", "2")], deductible_used="200.00", hifp_paid=str(first.setlinfo.hifp_pay)
    )
    reversal = reverse(first, accumulators=second.accumulators)
    assert reversal.accumulators.deductible_used == Decimal("0.00")
    assert reversal.accumulators.hifp_paid == second.setlinfo.hifp_pay


def test_restoring_accumulators_twice_is_refused() -> None:
    original = split([a_line("300.00")])
    with pytest.raises(InvalidAmountError, match="restored twice"):
        reverse(original, accumulators=original.accumulators_before)


def test_refunding_a_line_the_settlement_does_not_contain_is_refused() -> None:
    original = split([a_line("300.00", "1")])
    with pytest.raises(UnknownFeeLineError) as caught:
        resettle(original, refunded=["9"])
    assert caught.value.code == "unknown_fee_line"
    assert "9" in caught.value.message
