"""The what-if command: prices and splits the example bill, as tables or JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from insurance.whatif import main

EXAMPLE = Path(__file__).resolve().parents[3] / "seeds" / "examples" / "bill.json"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_the_example_bill_prints_the_priced_lines_and_the_setlinfo_as_tables() -> None:
    code, text = run("--bill", str(EXAMPLE))
    assert code == 0
    assert "371400 v2026.1" in text
    assert "头孢克肟胶囊" in text
    assert "C unlisted" in text
    for field, amount in [
        ("medfee_sumamt", "415.41"),
        ("act_pay_dedc", "50.00"),
        ("hifp_pay", "129.61"),  # (249.40 − 50.00) × 0.65
        ("psn_part_amt", "285.80"),
        ("acct_mulaid_pay", "165.80"),
        ("psn_cash_pay", "0.00"),
    ]:
        line = next(row for row in text.splitlines() if row.startswith(field + " "))
        assert line.rstrip().endswith(amount), line


def test_the_json_output_is_the_contract_form() -> None:
    code, text = run("--bill", str(EXAMPLE), "--json")
    assert code == 0
    body = json.loads(text)
    assert body["setlinfo"]["medfee_sumamt"] == "415.41"
    assert body["setlinfo"]["pool_prop_selfpay"] == "0.65"
    assert body["accumulators"] == {
        "policy_year": 2026,
        "act_pay_dedc": "200.00",
        "hifp_pay": "129.61",
    }
    assert len(body["fees"]) == 8
    assert body["mutual_aid"][0]["acct_mulaid_pay"] == "165.80"


def test_a_bill_with_too_many_places_fails_with_a_message_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bill = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bill["fees"][0]["cnt"] = 1.00001
    path = tmp_path / "bill.json"
    path.write_text(json.dumps(bill), encoding="utf-8")
    code, _ = run("--bill", str(path))
    assert code == 1
    assert "too_many_places" in capsys.readouterr().err


def test_a_bill_dated_before_any_policy_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bill = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bill["visit_date"] = "2020-01-01"
    path = tmp_path / "bill.json"
    path.write_text(json.dumps(bill), encoding="utf-8")
    assert run("--bill", str(path))[0] == 1
    assert "no_policy_in_force" in capsys.readouterr().err


def test_another_policy_file_can_be_given(tmp_path: Path) -> None:
    demo = EXAMPLE.parents[1] / "policies" / "371400-2026.toml"
    policy = tmp_path / "p.toml"
    policy.write_text(
        demo.read_text(encoding="utf-8").replace('"12" = "0.65"', '"12" = "0.80"'), encoding="utf-8"
    )
    code, text = run("--bill", str(EXAMPLE), "--policy", str(policy), "--json")
    assert code == 0
    assert json.loads(text)["setlinfo"]["hifp_pay"] == "159.52"  # 199.40 × 0.80
