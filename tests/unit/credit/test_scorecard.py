import tomllib
from pathlib import Path
from typing import Any

import pytest

from credit.scorecard import MAX_LINE, MIN_LINE, ScorecardError, load_scorecard, parse_scorecard
from tests.unit.credit.support import SEEDS, seeded_scorecard


def seeded_data() -> dict[str, Any]:
    return tomllib.loads((SEEDS / "credit" / "scorecard.toml").read_text(encoding="utf-8"))


def attribute(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in data["attributes"] if a["name"] == name)


def refusal(data: dict[str, Any]) -> ScorecardError:
    with pytest.raises(ScorecardError) as error:
        parse_scorecard(data, source="card.toml")
    return error.value


def test_the_seeded_scorecard_loads_with_a_version_and_every_known_attribute() -> None:
    card = seeded_scorecard()
    assert card.version == "2026.1"
    assert {a.name for a in card.attributes} == {
        "credit_rating",
        "contribution_months",
        "psn_type",
        "bills_on_time",
        "bills_late",
        "max_days_late",
    }
    assert card.attribute("contribution_months").reason_zh == "连续缴费月数较短"
    assert card.attribute("contribution_months").reason_en == "Short contribution history"


def test_the_seeded_line_mapping_spans_600_to_1000_in_steps_of_50() -> None:
    line = seeded_scorecard().line
    assert line.line_for(-1000) == MIN_LINE
    assert line.line_for(100_000) == MAX_LINE
    assert {line.line_for(score) for score in range(0, 400)} == set(range(600, 1001, 50))


def test_the_line_is_rounded_down_not_to_the_nearest_step() -> None:
    line = seeded_scorecard().line
    # score 124 → 600 + 24 × 2 = 648 → 600; score 125 → 650.
    assert line.line_for(124) == 600
    assert line.line_for(125) == 650


def test_overlapping_range_bins_are_refused_naming_the_field() -> None:
    data = seeded_data()
    attribute(data, "contribution_months")["bins"][1]["lower"] = 10
    error = refusal(data)
    assert error.file == "card.toml"
    assert error.field == "attributes[1].bins[1].lower"
    assert "overlaps" in error.reason


def test_a_gap_between_range_bins_is_refused() -> None:
    data = seeded_data()
    attribute(data, "contribution_months")["bins"][1]["lower"] = 14
    assert "gap" in refusal(data).reason


def test_a_bin_after_an_open_bin_is_refused_as_overlapping() -> None:
    data = seeded_data()
    attribute(data, "bills_late")["bins"].append({"lower": 10, "points": 0})
    assert "overlaps" in refusal(data).reason


def test_a_category_listed_twice_is_refused_as_overlapping() -> None:
    data = seeded_data()
    attribute(data, "credit_rating")["bins"][3]["value"] = "A"
    assert "overlaps" in refusal(data).reason


@pytest.mark.parametrize(("field", "value"), [("min", 550), ("max", 1050), ("min", 0)])
def test_a_line_outside_600_to_1000_is_refused(field: str, value: int) -> None:
    data = seeded_data()
    data["line"][field] = value
    error = refusal(data)
    assert error.field == f"line.{field}"
    assert "outside [600, 1000]" in error.reason


def test_a_float_yuan_per_point_is_refused() -> None:
    data = seeded_data()
    data["line"]["yuan_per_point"] = 2.5
    assert refusal(data).field == "line.yuan_per_point"


@pytest.mark.parametrize(
    "name", ["sex", "gender", "ethnicity", "nation", "place_of_origin", "birthplace", "hukou"]
)
def test_an_attribute_of_a_protected_characteristic_is_refused_by_name(name: str) -> None:
    data = seeded_data()
    data["attributes"].append(
        {
            "name": name,
            "reason_code": "x",
            "reason_zh": "x",
            "reason_en": "x",
            "bins": [{"value": "x", "points": 0}],
        }
    )
    error = refusal(data)
    assert "protected characteristic" in error.reason


def test_points_that_fall_as_an_attribute_improves_are_refused() -> None:
    data = seeded_data()
    attribute(data, "bills_late")["bins"][1]["points"] = 40
    assert "points must fall" in refusal(data).reason


def test_an_unknown_attribute_is_refused_listing_the_known_ones() -> None:
    data = seeded_data()
    attribute(data, "psn_type")["name"] = "shoe_size"
    assert "unknown attribute 'shoe_size'" in refusal(data).reason


def test_a_file_that_is_not_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("version = ", encoding="utf-8")
    with pytest.raises(ScorecardError) as error:
        load_scorecard(path)
    assert error.value.file == str(path)
