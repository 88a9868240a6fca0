"""Restricted-use items (限制使用): the hospital's approval (``hosp_appr_flag``) decides whether the
fund pays for a line of one; the line identity holds whatever the flag."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurance.catalogue import Catalogue, CatalogueItem, default_catalogue_path, load_catalogue
from insurance.errors import CatalogueError, InvalidAmountError, InvalidFeeLineError
from insurance.money import MAX_AMOUNT, ZERO
from insurance.pricing import FeeLine, PricedLine, approval_refused, line_amount, price_line
from tests.unit.insurance.builders import demo_policy

POLICY = demo_policy()
RESTRICTED_A = "A-RESTRICTED"
RESTRICTED_B = "B-RESTRICTED-CAP"
PLAIN_B = "B-PLAIN"
CATALOGUE = Catalogue(
    [
        CatalogueItem(RESTRICTED_A, "限制使用甲类", "A", lmt_used_flag=True),
        CatalogueItem(
            RESTRICTED_B,
            "限制使用乙类限价",
            "B",
            selfpay_prop=Decimal("0.20"),
            pric_uplmt_amt=Decimal("50.00"),
            lmt_used_flag=True,
        ),
        CatalogueItem(PLAIN_B, "乙类", "B"),
    ]
)
FLAGS = (None, "0", "1", "2")


def priced(code: str, pric: str, flag: str | None, cnt: str = "1") -> PricedLine:
    line = FeeLine("F1", code, "item", Decimal(pric), Decimal(cnt), hosp_appr_flag=flag)
    return price_line(line, CATALOGUE, POLICY)


def parts(line: PricedLine) -> tuple[Decimal, ...]:
    return (line.fulamt_ownpay_amt, line.overlmt_amt, line.preselfpay_amt, line.inscp_scp_amt)


def test_a_restricted_line_not_approved_is_all_self_paid_and_keeps_its_class() -> None:
    line = priced(RESTRICTED_B, "80.00", "2", cnt="2")
    assert parts(line) == (Decimal("160.00"), ZERO, ZERO, ZERO)
    assert (line.chrgitm_lv, line.lmt_used_flag, line.hosp_appr_flag) == ("B", True, "2")
    assert line.selfpay_prop == 1 and not line.unlisted


@pytest.mark.parametrize("flag", [None, "0", "1"])
def test_a_restricted_line_approved_or_needing_none_prices_as_its_class(flag: str | None) -> None:
    line = priced(RESTRICTED_B, "80.00", flag, cnt="2")
    # cap 50.00: 60.00 over the limit; 20 % of the 100.00 in the list first self-paid
    assert parts(line) == (ZERO, Decimal("60.00"), Decimal("20.00"), Decimal("80.00"))
    assert line.lmt_used_flag and line.hosp_appr_flag == flag


def test_the_flag_changes_nothing_on_an_item_that_is_not_restricted() -> None:
    assert parts(priced(PLAIN_B, "10.00", "2")) == parts(priced(PLAIN_B, "10.00", None))
    assert not priced(PLAIN_B, "10.00", "2").lmt_used_flag


def test_only_a_refusal_on_a_restricted_item_is_a_refusal() -> None:
    assert approval_refused(True, "2")
    assert not any(approval_refused(True, flag) for flag in (None, "0", "1"))
    assert not any(approval_refused(False, flag) for flag in FLAGS)


def test_an_unknown_approval_flag_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidFeeLineError) as raised:
        FeeLine("F1", RESTRICTED_A, "item", Decimal(1), Decimal(1), hosp_appr_flag="3")
    assert raised.value.field == "hosp_appr_flag"


@given(
    code=st.sampled_from((RESTRICTED_A, RESTRICTED_B, PLAIN_B)),
    flag=st.sampled_from(FLAGS),
    pric_fen=st.integers(0, 10_000_000),
    cnt=st.integers(1, 10_000).map(lambda n: Decimal(n).scaleb(-2)),
)
def test_whatever_the_flag_the_parts_add_up_and_a_refusal_moves_all_to_the_patient(
    code: str, flag: str | None, pric_fen: int, cnt: Decimal
) -> None:
    pric = Decimal(pric_fen).scaleb(-2)
    if line_amount(pric, cnt) > MAX_AMOUNT:
        # Beyond what a line may cost (up to 100,000.00 × 100.00 is drawn): refused, naming it.
        with pytest.raises(InvalidAmountError, match="above"):
            FeeLine("F1", code, "i", pric, cnt, hosp_appr_flag=flag)
        return
    line = price_line(FeeLine("F1", code, "i", pric, cnt, hosp_appr_flag=flag), CATALOGUE, POLICY)
    assert sum(parts(line)) == line.det_item_fee_sumamt
    assert all(part >= 0 for part in parts(line))
    approved = price_line(FeeLine("F1", code, "i", pric, cnt), CATALOGUE, POLICY)
    if approval_refused(line.lmt_used_flag, flag):
        assert line.fulamt_ownpay_amt == line.det_item_fee_sumamt
    else:
        assert parts(line) == parts(approved)


def test_the_catalogue_marks_restricted_items_and_refuses_a_restricted_class_c(
    tmp_path: Path,
) -> None:
    seeded = load_catalogue(default_catalogue_path())
    assert any(item.lmt_used_flag for item in seeded.values())
    assert all(item.chrgitm_lv != "C" for item in seeded.values() if item.lmt_used_flag)
    path = tmp_path / "catalogue.csv"
    header = (
        "med_list_codg,item_name,chrgitm_lv,selfpay_prop,pric_uplmt_amt,category,lmt_used_flag\n"
    )
    path.write_text(header + "X1,丙类,C,,,drug,1\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)
    assert "lmt_used_flag" in str(raised.value)
    path.write_text(header + "X1,乙类,B,,,drug,yes\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="lmt_used_flag"):
        load_catalogue(path)
