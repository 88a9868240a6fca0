"""Restricted-use items (限制使用) through both doors: a line the hospital did not approve
(``hosp_appr_flag`` 2) is all self-paid, says so, and the fund pays nothing of it at settlement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.integration.api.test_national_calls import line_2204, national, ok, visit_2201

PCT = "002504030240000"  # 降钙素原检测: class B, 20 % first self-pay, cap 120.00, restricted use
CONSULTATION = "001102000030000"  # class A, cap 30.00, not restricted
REFUSED_MEMO_START = "限制使用项目未获审批"


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def fee(sn: str, code: str, pric: str, flag: str | None) -> dict[str, str]:
    line = {
        "feedetl_sn": sn,
        "med_list_codg": code,
        "item_name": "项目",
        "pric": pric,
        "cnt": "1",
        "det_item_fee_sumamt": pric,
        "fee_ocur_time": "2026-11-23T09:45:00+08:00",
    }
    return line if flag is None else line | {"hosp_appr_flag": flag}


def charged_visit(service, his, *fees: dict[str, str]) -> tuple[str, dict]:
    patient, _ = service.enrol(balc="0.00")
    mdtrt_id = his.open_visit(patient.psn_no).json()["mdtrt_id"]
    answer = his.post(f"/his/v1/visits/{mdtrt_id}/fees", {"chrg_bchno": "CB1", "fees": list(fees)})
    assert answer.status_code == 201, answer.text
    return mdtrt_id, {line["feedetl_sn"]: line for line in answer.json()["fees"]}


def test_a_restricted_line_not_approved_is_all_self_paid_and_its_memo_says_why(service, his):
    _, lines = charged_visit(
        service,
        his,
        fee("F1", PCT, "100.00", "2"),
        fee("F2", PCT, "100.00", "1"),
        fee("F3", CONSULTATION, "30.00", "2"),
    )
    refused, approved, plain = lines["F1"], lines["F2"], lines["F3"]
    assert (refused["fulamt_ownpay_amt"], refused["inscp_scp_amt"]) == ("100.00", "0.00")
    assert (refused["lmt_used_flag"], refused["chrgitm_lv"]) == ("1", "B")
    assert refused["memo"].startswith(REFUSED_MEMO_START)
    assert (approved["fulamt_ownpay_amt"], approved["preselfpay_amt"]) == ("0.00", "20.00")
    assert (approved["inscp_scp_amt"], approved["lmt_used_flag"], approved["memo"]) == (
        "80.00",
        "1",
        "",
    )
    # The flag means nothing on an item that is not restricted.
    assert (plain["fulamt_ownpay_amt"], plain["lmt_used_flag"], plain["memo"]) == ("0.00", "0", "")


def test_a_refused_line_is_out_of_the_funds_scope_at_settlement(service, his):
    refused_id, _ = charged_visit(service, his, fee("F1", PCT, "100.00", "2"))
    approved_id, _ = charged_visit(service, his, fee("F1", PCT, "100.00", "1"))
    refused = his.post(f"/his/v1/visits/{refused_id}/presettle").json()["setlinfo"]
    approved = his.post(f"/his/v1/visits/{approved_id}/presettle").json()["setlinfo"]
    assert Decimal(refused["fulamt_ownpay_amt"]) == Decimal("100.00")
    assert Decimal(refused["hifp_pay"]) == 0
    assert Decimal(refused["psn_part_amt"]) == Decimal("100.00")
    # Below the deductible the fund pays nothing either way: what differs is the scope.
    assert Decimal(refused["inscp_scp_amt"]) == 0
    assert Decimal(approved["inscp_scp_amt"]) == Decimal("80.00")
    assert Decimal(approved["fulamt_ownpay_amt"]) == 0


def test_a_2204_answers_the_restricted_flag_and_prices_by_the_approval(service, his):
    patient, _ = service.enrol()
    mdtrt_id = ok(national(his, "2201", visit_2201(patient.psn_no, "MZRESTRICT1")))["data"][
        "mdtrt_id"
    ]
    lines = [
        line_2204(mdtrt_id, patient.psn_no, "CB1", "F1", PCT, "100.00") | {"hosp_appr_flag": "2"},
        line_2204(mdtrt_id, patient.psn_no, "CB1", "F2", PCT, "100.00") | {"hosp_appr_flag": ""},
    ]
    answer = {
        line["feedetl_sn"]: line
        for line in ok(national(his, "2204", {"feedetail": lines}))["result"]
    }
    assert answer["F1"]["lmt_used_flag"] == "1" and answer["F2"]["lmt_used_flag"] == "1"
    assert answer["F1"]["fulamt_ownpay_amt"] == 100 and answer["F1"]["inscp_scp_amt"] == 0
    assert answer["F1"]["memo"].startswith(REFUSED_MEMO_START)
    assert answer["F2"]["fulamt_ownpay_amt"] == 0 and answer["F2"]["inscp_scp_amt"] == 80
    refused = national(
        his, "2204", {"feedetail": [lines[0] | {"feedetl_sn": "F3", "hosp_appr_flag": "9"}]}
    )
    assert refused["infcode"] == -1 and refused["err_msg"].startswith("validation_error")


def test_an_administrator_marks_an_item_restricted_and_charges_follow(service, his):
    body = {"item_name": "限制使用诊查费", "chrgitm_lv": "A", "lmt_used_flag": True}
    put = service.client.put(
        f"/admin/v1/catalogue/{CONSULTATION}", json=body, headers=service.admin
    )
    assert put.status_code == 200 and put.json()["lmt_used_flag"] is True
    _, lines = charged_visit(service, his, fee("F1", CONSULTATION, "30.00", "2"))
    assert (lines["F1"]["fulamt_ownpay_amt"], lines["F1"]["lmt_used_flag"]) == ("30.00", "1")
    class_c = service.client.put(
        "/admin/v1/catalogue/XX-RESTRICTED-C",
        json={"item_name": "丙类", "chrgitm_lv": "C", "lmt_used_flag": True},
        headers=service.admin,
    )
    assert class_c.status_code == 422
