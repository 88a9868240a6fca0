"""The catalogue: the seeded CSV loads, and a bad row is refused naming the row and the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from insurance.catalogue import default_catalogue_path, load_catalogue
from insurance.errors import CatalogueError

HEADER = "med_list_codg,item_name,chrgitm_lv,selfpay_prop,pric_uplmt_amt,category\n"


def write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "catalogue.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_the_seeded_catalogue_holds_a_few_hundred_items_of_every_class_and_kind() -> None:
    catalogue = load_catalogue(default_catalogue_path())
    assert 200 <= len(catalogue) <= 1000
    items = list(catalogue.values())
    assert {item.chrgitm_lv for item in items} == {"A", "B", "C"}
    assert {item.category for item in items} >= {"consultation", "drug", "examination", "material"}
    assert any(item.pric_uplmt_amt is not None for item in items)
    assert {item.selfpay_prop for item in items if item.selfpay_prop is not None} >= {
        Decimal("0.05"),
        Decimal("0.20"),
    }
    names = {item.item_name for item in items}
    assert any(name.startswith("阿莫西林胶囊") for name in names)
    assert any(name.startswith("布洛芬缓释胶囊") for name in names)
    assert any("血常规" in name for name in names)
    assert any("胸部X线" in name for name in names)


def test_an_item_is_found_by_its_code_and_an_unlisted_code_is_absent() -> None:
    catalogue = load_catalogue(default_catalogue_path())
    item = catalogue["001102000010000"]
    assert item.item_name == "普通门诊诊查费"
    assert item.chrgitm_lv == "A"
    assert item.pric_uplmt_amt == Decimal("10.00")
    assert catalogue.get("NO-SUCH-CODE") is None


def test_a_row_with_an_unknown_class_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "X1,甲,A,,,\nX2,乙,D,,,\n")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert caught.value.row == 3
    assert caught.value.field == "chrgitm_lv"
    assert str(path) in str(caught.value)


def test_a_selfpay_prop_above_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write(tmp_path, "X1,乙,B,1.5,,\n"))
    assert caught.value.field == "selfpay_prop"


def test_a_selfpay_prop_on_a_class_a_item_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="only class B"):
        load_catalogue(write(tmp_path, "X1,甲,A,0.10,,\n"))


def test_a_negative_price_cap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write(tmp_path, "X1,甲,A,,-3.00,\n"))
    assert caught.value.field == "pric_uplmt_amt"


def test_a_price_cap_with_more_than_two_places_is_refused(tmp_path: Path) -> None:
    # pric_uplmt_amt is money by the contract: never rounded, refused.
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write(tmp_path, "X1,甲,A,,1.234,\n"))
    assert caught.value.field == "pric_uplmt_amt"


def test_a_code_listed_twice_is_refused_naming_both_rows(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="row 2") as caught:
        load_catalogue(write(tmp_path, "X1,甲,A,,,\nX1,又一个,B,,,\n"))
    assert caught.value.row == 3


def test_a_missing_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_text("med_list_codg,item_name\nX1,甲\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert caught.value.field == "chrgitm_lv"
