"""The settlement split (2206/2207): the worked numbers of domain.md §2 and the edge cases."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from insurance.errors import (
    AccumulatorYearMismatchError,
    DuplicateFeeLineError,
    InvalidAmountError,
    NoPolicyInForceError,
    UnknownHospitalLevelError,
    UnknownPersonTypeError,
)
from insurance.split import Accumulators, RelativeAccount, settle
from tests.unit.insurance.builders import (
    CLASS_A_CAPPED,
    CLASS_B,
    CLASS_C,
    VISIT,
    a_line,
    demo_policy,
    money,
    policy_with,
    priced,
    split,
)


@pytest.mark.parametrize(
    ("level", "psn_type", "hifp"),
    [
        (1, "11", "700.00"),
        (2, "11", "600.00"),
        (3, "11", "500.00"),
        (1, "12", "750.00"),
        (2, "12", "650.00"),
        (3, "12", "550.00"),
    ],
)
def test_after_the_200_deductible_the_pooled_fund_pays_the_ratio_of_level_and_status(
    level: int, psn_type: str, hifp: str
) -> None:
    result = money(split([a_line("1200.00")], level=level, psn_type=psn_type))
    assert result["medfee_sumamt"] == "1200.00"
    assert result["inscp_scp_amt"] == "1200.00"
    assert result["act_pay_dedc"] == "200.00"
    assert result["hifp_pay"] == hifp
    assert result["fund_pay_sumamt"] == hifp
    assert result["psn_part_amt"] == str(Decimal("1200.00") - Decimal(hifp))
    assert result["psn_cash_pay"] == result["psn_part_amt"]  # an empty account


@pytest.mark.parametrize(("level", "ratio"), [(1, "0.75"), (2, "0.65"), (3, "0.55")])
def test_a_retiree_gets_the_retired_ratio_at_each_level(level: int, ratio: str) -> None:
    result = money(split([a_line("300.00")], level=level, psn_type="12", deductible_used="200.00"))
    assert result["pool_prop_selfpay"] == ratio
    assert result["act_pay_dedc"] == "0.00"
    assert result["hifp_pay"] == str((Decimal("300.00") * Decimal(ratio)).quantize(Decimal("0.01")))


def test_a_bill_under_the_deductible_is_all_deductible_and_the_fund_pays_nothing() -> None:
    result = money(split([a_line("150.00")]))
    assert result["act_pay_dedc"] == "150.00"
    assert result["hifp_pay"] == "0.00"
    assert result["psn_part_amt"] == "150.00"


def test_the_deductible_is_crossed_inside_one_bill() -> None:
    settlement = split([a_line("30.00", "1"), a_line("40.00", "2")], deductible_used="150.00")
    result = money(settlement)
    assert result["act_pay_dedc"] == "50.00"
    assert result["hifp_pay"] == "14.00"  # (70 − 50) × 0.70
    assert result["psn_part_amt"] == "56.00"
    assert settlement.accumulators.deductible_used == Decimal("200.00")
    assert settlement.accumulators.hifp_paid == Decimal("14.00")


def test_the_annual_cap_is_crossed_inside_one_bill() -> None:
    settlement = split([a_line("500.00")], deductible_used="200.00", hifp_paid="1900.00")
    result = money(settlement)
    assert result["hifp_pay"] == "100.00"  # 350 by the ratio, but only 100 of the cap is left
    assert result["psn_part_amt"] == "400.00"
    assert settlement.accumulators.hifp_paid == Decimal("2000.00")


def test_once_the_cap_is_used_up_the_fund_pays_nothing_more() -> None:
    result = money(split([a_line("500.00")], deductible_used="200.00", hifp_paid="2000.00"))
    assert result["hifp_pay"] == "0.00"
    assert result["psn_part_amt"] == "500.00"


def test_a_retiree_has_the_higher_cap() -> None:
    result = money(
        split([a_line("1000.00")], psn_type="12", deductible_used="200.00", hifp_paid="2000.00")
    )
    assert result["hifp_pay"] == "500.00"  # 750 by the ratio, 500 left of 2,500


def test_the_pooled_fund_is_rounded_half_up_once_per_bill_not_per_line() -> None:
    lines = [a_line("0.03", "1"), a_line("0.03", "2")]
    result = money(split(lines, level=3, deductible_used="200.00"))
    assert result["hifp_pay"] == "0.03"  # 0.06 × 0.50; per line it would be 0.02 + 0.02
    result = money(split([a_line("0.01")], level=3, deductible_used="200.00"))
    assert result["hifp_pay"] == "0.01"  # 0.005 rounds half-up


def test_class_b_c_and_over_limit_parts_are_outside_the_fund_and_summed_by_kind() -> None:
    lines = [
        priced("1", CLASS_B, "99.95"),  # 10.00 first share, 89.95 in scope
        priced("2", CLASS_C, "88.00"),
        priced("3", CLASS_A_CAPPED, "12.50", "2"),  # 5.00 over the cap, 20.00 in scope
        a_line("290.05", "4"),
    ]
    result = money(split(lines, level=2))
    assert result == {
        "medfee_sumamt": "503.00",
        "fulamt_ownpay_amt": "88.00",
        "overlmt_selfpay": "5.00",
        "preselfpay_amt": "10.00",
        "inscp_scp_amt": "400.00",
        "act_pay_dedc": "200.00",
        "hifp_pay": "120.00",
        "pool_prop_selfpay": "0.60",
        "fund_pay_sumamt": "120.00",
        "psn_part_amt": "383.00",
        "acct_pay": "0.00",
        "acct_mulaid_pay": "0.00",
        "psn_cash_pay": "383.00",
        "balc": "0.00",
    }


def test_the_personal_account_pays_first_and_the_wallet_the_rest() -> None:
    result = money(split([a_line("1200.00")], balance="100.00"))
    assert result["psn_part_amt"] == "500.00"
    assert result["acct_pay"] == "100.00"
    assert result["psn_cash_pay"] == "400.00"
    assert result["balc"] == "0.00"


def test_an_account_with_enough_pays_everything_and_keeps_the_rest() -> None:
    result = money(split([a_line("1200.00")], balance="800.00"))
    assert result["acct_pay"] == "500.00"
    assert result["psn_cash_pay"] == "0.00"
    assert result["balc"] == "300.00"


def test_an_empty_account_leaves_the_whole_personal_share_to_the_wallet() -> None:
    result = money(split([priced("1", CLASS_C, "40.00")], balance="0.00"))
    assert result["acct_pay"] == "0.00"
    assert result["psn_cash_pay"] == "40.00"
    assert result["balc"] == "0.00"


def test_a_child_s_account_pays_a_parent_s_bill_by_mutual_aid() -> None:
    child = RelativeAccount("P-CHILD", "parent", Decimal("500.00"))  # the patient is their parent
    settlement = split([a_line("1200.00")], psn_type="12", balance="20.00", relatives=[child])
    result = money(settlement)
    assert result["psn_part_amt"] == "450.00"
    assert result["acct_pay"] == "450.00"
    assert result["acct_mulaid_pay"] == "430.00"
    assert result["psn_cash_pay"] == "0.00"
    assert result["balc"] == "0.00"
    assert settlement.acct_own_pay == Decimal("20.00")
    assert settlement.mulaid_by_psn == {"P-CHILD": Decimal("430.00")}
    assert settlement.mutual_aid[0].balc == Decimal("70.00")


def test_relatives_pay_in_the_order_given_and_the_wallet_pays_what_they_cannot() -> None:
    spouse = RelativeAccount("P-SPOUSE", "spouse", Decimal("100.00"))
    child = RelativeAccount("P-CHILD", "parent", Decimal("50.00"))
    result = money(split([a_line("1200.00")], relatives=[spouse, child]))
    assert result["acct_mulaid_pay"] == "150.00"
    assert result["psn_cash_pay"] == "350.00"


def test_a_relation_the_policy_does_not_allow_pays_nothing() -> None:
    friend = RelativeAccount("P-OTHER", "other", Decimal("1000.00"))
    settlement = split([a_line("1200.00")], relatives=[friend])
    assert settlement.setlinfo.acct_mulaid_pay == 0
    assert settlement.setlinfo.psn_cash_pay == Decimal("500.00")
    assert settlement.mulaid_by_psn == {}


def test_the_account_pays_only_the_parts_the_policy_allows() -> None:
    policy = policy_with(acct_payable_parts=frozenset({"inscp_selfpay"}))
    lines = [priced("1", CLASS_C, "100.00"), a_line("1200.00", "2")]
    result = money(split(lines, balance="10000.00", policy=policy))
    assert result["acct_pay"] == "500.00"  # 1200 − 700 from the fund; class C is not payable
    assert result["psn_cash_pay"] == "100.00"
    assert result["balc"] == "9500.00"


def test_an_empty_bill_splits_into_zeros() -> None:
    settlement = split([], balance="10.00")
    assert set(money(settlement).values()) <= {"0.00", "10.00", "0.70"}
    assert settlement.setlinfo.balc == Decimal("10.00")


def test_the_contract_form_has_every_setlinfo_field_as_a_two_place_string() -> None:
    body = split([a_line("12.30")]).as_dict()
    info = body["setlinfo"]
    assert isinstance(info, dict)
    assert set(info) == {
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
        "act_pay_dedc",
        "hifp_pay",
        "pool_prop_selfpay",
        "fund_pay_sumamt",
        "psn_part_amt",
        "acct_pay",
        "acct_mulaid_pay",
        "psn_cash_pay",
        "balc",
    }
    assert info["medfee_sumamt"] == "12.30"


def test_a_december_visit_settled_in_january_counts_against_december_s_year() -> None:
    december = date(2025, 12, 20)
    settlement = split([a_line("300.00")], visit_date=december)
    assert settlement.accumulators.policy_year == 2025
    assert settlement.policy.version == "2025.1"
    with pytest.raises(AccumulatorYearMismatchError) as caught:
        settle(
            [a_line("300.00")],
            policy=demo_policy(december),
            hospital_level=1,
            psn_type="11",
            accumulators=Accumulators(2026),
            account_balance=Decimal("0.00"),
            visit_date=december,
        )
    assert "2025" in caught.value.message
    assert caught.value.field == "accumulators.policy_year"


def test_a_policy_not_in_force_on_the_visit_date_is_refused() -> None:
    with pytest.raises(NoPolicyInForceError):
        split([a_line("10.00")], policy=demo_policy(date(2025, 6, 1)), visit_date=VISIT)


@pytest.mark.parametrize("level", [0, 4, "1", None])
def test_an_unknown_hospital_level_is_refused(level: object) -> None:
    with pytest.raises(UnknownHospitalLevelError) as caught:
        split([a_line("10.00")], level=level)  # type: ignore[arg-type]
    assert caught.value.field == "hospital_level"


@pytest.mark.parametrize("psn_type", ["13", "", "11 "])
def test_an_unknown_person_type_is_refused(psn_type: str) -> None:
    with pytest.raises(UnknownPersonTypeError) as caught:
        split([a_line("10.00")], psn_type=psn_type)
    assert caught.value.field == "psn_type"


@pytest.mark.parametrize("balance", ["-0.01", "0.001", "10000000.00"])
def test_a_negative_sub_fen_or_absurd_balance_is_refused(balance: str) -> None:
    with pytest.raises(InvalidAmountError) as caught:
        split([a_line("10.00")], balance=balance)
    assert caught.value.field == "balc"


def test_negative_accumulators_are_refused() -> None:
    with pytest.raises(InvalidAmountError) as caught:
        Accumulators(2026, Decimal("-1.00"))
    assert caught.value.field == "deductible_used"


def test_two_lines_with_one_serial_number_are_refused() -> None:
    with pytest.raises(DuplicateFeeLineError, match="feedetl_sn 1"):
        split([a_line("1.00", "1"), a_line("2.00", "1")])


def test_a_changed_deductible_in_a_later_version_is_what_counts() -> None:
    policy = dataclasses.replace(demo_policy(), deductible=Decimal("300.00"))
    result = money(split([a_line("1000.00")], policy=policy, deductible_used="200.00"))
    assert result["act_pay_dedc"] == "100.00"
