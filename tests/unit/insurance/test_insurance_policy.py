"""Regional policy: the demo region's defaults, versions in force, and refusals at load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from insurance.errors import NoPolicyInForceError, PolicyError
from insurance.policy import default_policy_folder, load_policies, load_policy_file
from tests.unit.insurance.builders import demo_book, demo_policy

DEMO = (default_policy_folder() / "371400-2026.toml").read_text(encoding="utf-8")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_region_carries_exactly_the_pooled_ratios_of_the_domain_brief() -> None:
    policy = demo_policy()
    assert policy.region_code == "371400"
    expected = {
        (1, "11"): "0.70",
        (2, "11"): "0.60",
        (3, "11"): "0.50",
        (1, "12"): "0.75",
        (2, "12"): "0.65",
        (3, "12"): "0.55",
    }
    for (level, psn_type), ratio in expected.items():
        assert policy.ratio(level, psn_type) == Decimal(ratio)


def test_the_demo_region_has_a_200_yuan_deductible_and_caps_of_2000_and_2500() -> None:
    policy = demo_policy()
    assert policy.deductible == Decimal("200.00")
    assert policy.cap("11") == Decimal("2000.00")
    assert policy.cap("12") == Decimal("2500.00")


def test_the_demo_region_charges_class_b_a_first_ten_percent_and_lets_the_account_pay_all() -> None:
    policy = demo_policy()
    assert policy.class_b_selfpay_prop == Decimal("0.10")
    assert policy.acct_payable_parts == {
        "fulamt_ownpay",
        "overlmt_selfpay",
        "preselfpay",
        "inscp_selfpay",
    }
    assert policy.mutual_aid_relations == {"spouse", "parent", "child"}


def test_every_demo_version_carries_the_same_defaults() -> None:
    first, *others = demo_book().policies
    for other in others:
        assert other.pooled_ratio == first.pooled_ratio
        assert other.annual_pooled_cap == first.annual_pooled_cap
        assert other.deductible == first.deductible


def test_the_version_in_force_is_picked_by_the_visit_date() -> None:
    book = demo_book()
    assert book.in_force(date(2025, 12, 31)).version == "2025.1"
    assert book.in_force(date(2026, 1, 1)).version == "2026.1"
    assert book.in_force(date(2031, 6, 1)).version == "2026.1"


def test_a_date_before_any_version_has_no_policy_in_force() -> None:
    with pytest.raises(NoPolicyInForceError) as caught:
        demo_book().in_force(date(2024, 12, 31))
    assert caught.value.code == "no_policy_in_force"
    assert "2024-12-31" in caught.value.message


def test_an_unknown_region_has_no_policy_in_force() -> None:
    with pytest.raises(NoPolicyInForceError, match="999999"):
        demo_book().in_force(date(2026, 1, 1), region_code="999999")


def test_the_policy_year_is_the_calendar_year_unless_the_policy_says_otherwise(
    tmp_path: Path,
) -> None:
    assert demo_policy().policy_year(date(2026, 12, 31)) == 2026
    july = write(
        tmp_path,
        "p.toml",
        DEMO.replace("policy_year_start_month = 1", "policy_year_start_month = 7"),
    )
    policy = load_policy_file(july)
    assert policy.policy_year(date(2027, 6, 30)) == 2026
    assert policy.policy_year(date(2027, 7, 1)) == 2027


def test_a_ratio_above_one_is_refused_naming_the_file_the_field_and_the_reason(
    tmp_path: Path,
) -> None:
    bad = write(tmp_path, "bad.toml", DEMO.replace('"11" = "0.60"', '"11" = "1.20"'))
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    error = caught.value
    assert error.file == str(bad)
    assert error.field == "pooled_ratio.level_2.11"
    assert "[0, 1]" in error.reason
    assert str(bad) in str(error)


def test_a_negative_ratio_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", DEMO.replace('"12" = "0.55"', '"12" = "-0.10"'))
    with pytest.raises(PolicyError, match=r"pooled_ratio\.level_3\.12"):
        load_policies(tmp_path)


def test_a_ratio_written_as_a_toml_float_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "bad.toml",
        DEMO.replace('class_b_selfpay_prop = "0.10"', "class_b_selfpay_prop = 0.1"),
    )
    with pytest.raises(PolicyError, match=r"class_b_selfpay_prop.*float"):
        load_policies(tmp_path)


def test_a_missing_hospital_level_is_refused(tmp_path: Path) -> None:
    text = DEMO.replace('[pooled_ratio.level_3]\n"11" = "0.50"\n"12" = "0.55"\n', "")
    assert text != DEMO
    write(tmp_path, "bad.toml", text)
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert caught.value.field == "pooled_ratio.level_3"
    assert "missing" in caught.value.reason


def test_a_missing_person_type_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", DEMO.replace('"12" = "2500.00"\n', ""))
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert caught.value.field == "annual_pooled_cap.12"


def test_overlapping_versions_of_a_region_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", DEMO)
    later = write(
        tmp_path,
        "b.toml",
        DEMO.replace('version = "2026.1"', 'version = "2026.2"').replace(
            "effective_from = 2026-01-01", "effective_from = 2026-07-01"
        ),
    )
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert caught.value.file == str(later)
    assert caught.value.field == "effective_from"
    assert "overlaps" in caught.value.reason


def test_consecutive_versions_that_touch_but_do_not_overlap_load(tmp_path: Path) -> None:
    write(
        tmp_path, "a.toml", DEMO.replace("# effective_to is absent", "effective_to = 2026-06-30\n#")
    )
    write(
        tmp_path,
        "b.toml",
        DEMO.replace('version = "2026.1"', 'version = "2026.2"')
        .replace("effective_from = 2026-01-01", "effective_from = 2026-07-01")
        .replace('deductible = "200.00"', 'deductible = "300.00"'),
    )
    book = load_policies(tmp_path)
    assert book.in_force(date(2026, 6, 30)).deductible == Decimal("200.00")
    assert book.in_force(date(2026, 7, 1)).deductible == Decimal("300.00")


def test_an_unknown_setting_is_refused_as_a_likely_typo(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", DEMO + '\ndeductable = "100.00"\n')
    with pytest.raises(PolicyError, match="deductable"):
        load_policies(tmp_path)


def test_an_unknown_mutual_aid_relation_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", DEMO.replace('"spouse", "parent"', '"spouse", "cousin"'))
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert caught.value.field == "mutual_aid_relations"


def test_a_folder_without_policies_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no"):
        load_policies(tmp_path)


def test_a_file_that_is_not_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.toml", "region_code = ")
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert caught.value.file == str(bad)


def test_the_demo_region_settles_everything_at_repayment() -> None:
    assert {p.settlement_mode for p in demo_book().policies} == {"repayment"}


def test_a_policy_without_a_settlement_mode_settles_at_repayment(tmp_path: Path) -> None:
    text = "\n".join(line for line in DEMO.splitlines() if "settlement_mode" not in line)
    assert text != DEMO
    assert load_policy_file(write(tmp_path, "a.toml", text)).settlement_mode == "repayment"


def test_a_region_may_settle_the_fund_at_the_end_of_the_visit(tmp_path: Path) -> None:
    text = DEMO.replace('settlement_mode = "repayment"', 'settlement_mode = "visit_end"')
    assert load_policy_file(write(tmp_path, "a.toml", text)).settlement_mode == "visit_end"


def test_an_unknown_settlement_mode_is_refused_naming_the_choices(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", DEMO.replace('= "repayment"', '= "at_once"'))
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert caught.value.field == "settlement_mode"
    assert "visit_end" in caught.value.reason
