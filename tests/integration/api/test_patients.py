"""A patient's own credit and bills over HTTP, and nobody else's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.harness import Service, build_service

REGISTRATION = "001101000010000"  # class A, price cap 1.00
HEALTH_ADVICE = "001110000010000"  # class C
SETLINFO_FIELDS = {
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
    "setl_id",
}


@pytest.fixture
def service(engine) -> Service:
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    svc = build_service(engine, account_balance="0.00")
    svc.add_hospital("H3", level=3)
    svc.add_hospital("H1", level=1)
    return svc


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def bill_for(his, psn_no, *lines, **visit):
    """Open a visit, charge ``lines``, close it; returns the close answer."""
    mdtrt_id = his.open_visit(psn_no, **visit).json()["mdtrt_id"]
    if lines:
        assert his.charge(mdtrt_id, *lines).status_code == 201
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code == 200, closed.text
    return closed.json()


def test_my_credit_shows_the_line_what_is_held_and_what_is_left(service, his):
    person, line = service.enrol()
    headers = service.login(person)
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (HEALTH_ADVICE, "30.00", "1"))
    response = service.client.get("/v1/me/credit", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["psn_no"] == person.psn_no
    assert body["status"] == "active"
    assert Decimal(body["credit_line"]) == line
    assert body["on_hold"] == "30.00"
    assert body["outstanding"] == "0.00"
    assert Decimal(body["available"]) == line - Decimal("30.00")
    assert body["reasons"] is not None


def test_my_credit_before_signing_is_not_signed_with_nothing_available(service):
    person = service.add_person()
    body = service.client.get("/v1/me/credit", headers=service.login(person)).json()
    assert body["status"] == "not_signed"
    assert body["available"] == "0.00"
    assert body["reasons"][0]["code"] == "not_signed"


@pytest.mark.parametrize("path", ["/v1/me/credit", "/v1/me/bills", "/v1/bills/BL1"])
def test_patient_calls_refuse_callers_without_a_patient_token(service, his, path):
    assert service.client.get(path).status_code == 401
    bad = service.client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthenticated"
    assert service.client.get(path, headers=service.admin).status_code == 401
    signed = his.get(path)
    assert signed.status_code == 401
    assert signed.json()["error"]["code"] == "unauthenticated"


def test_a_patient_token_is_refused_on_an_his_call(service):
    person, _ = service.enrol()
    response = service.client.get(
        f"/his/v1/patients/{person.psn_no}/credit", headers=service.login(person)
    )
    assert response.status_code == 401


def test_my_bills_are_empty_before_any_visit(service):
    person, _ = service.enrol()
    response = service.client.get("/v1/me/bills", headers=service.login(person))
    assert response.status_code == 200
    assert response.json() == {"bills": []}


def test_my_bills_list_every_hospitals_bills_newest_first(service, his):
    person, _ = service.enrol()
    headers = service.login(person)
    first = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30.00", "1"))
    service.advance(hours=2)
    second = bill_for(service.hospitals["H1"], person.psn_no, (REGISTRATION, "1.00", "2"))
    response = service.client.get("/v1/me/bills", headers=headers)
    assert response.status_code == 200
    bills = response.json()["bills"]
    assert [b["bill_id"] for b in bills] == [second["bill_id"], first["bill_id"]]
    newest = bills[0]
    assert newest["mdtrt_id"] == second["mdtrt_id"]
    assert newest["hospital_code"] == "H1"
    assert newest["hospital_name"] == "测试医院 H1"
    assert newest["status"] == "billed"
    assert newest["medfee_sumamt"] == "2.00"
    assert newest["closed_at"] == "2026-11-23T11:30:00+08:00"
    assert newest["due_at"] == "2026-11-26T11:30:00+08:00"
    assert newest["settled_at"] is None
    assert set(newest["estimate"]) == SETLINFO_FIELDS
    assert newest["estimate"]["medfee_sumamt"] == "2.00"
    assert bills[1]["estimate"]["fulamt_ownpay_amt"] == "30.00"


def test_my_bills_can_be_filtered_by_status(service, his):
    person, _ = service.enrol()
    headers = service.login(person)
    billed = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30.00", "1"))
    empty = bill_for(his, person.psn_no)
    only_billed = service.client.get("/v1/me/bills?status=billed", headers=headers).json()
    assert [b["bill_id"] for b in only_billed["bills"]] == [billed["bill_id"]]
    settled = service.client.get("/v1/me/bills?status=settled", headers=headers).json()
    assert [b["bill_id"] for b in settled["bills"]] == [empty["bill_id"]]
    assert settled["bills"][0]["settled_at"] is not None
    overdue = service.client.get("/v1/me/bills?status=overdue", headers=headers).json()
    assert overdue == {"bills": []}


def test_an_unknown_status_filter_is_a_validation_error(service):
    person, _ = service.enrol()
    response = service.client.get("/v1/me/bills?status=lost", headers=service.login(person))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"][0]["path"] == "query.status"


def test_i_never_see_someone_elses_bills_in_my_list(service, his):
    me, _ = service.enrol()
    other, _ = service.enrol()
    bill_for(his, other.psn_no, (HEALTH_ADVICE, "30.00", "1"))
    response = service.client.get("/v1/me/bills", headers=service.login(me))
    assert response.json() == {"bills": []}


def test_one_bill_shows_its_lines_visit_estimate_and_history(service, his):
    person, _ = service.enrol()
    headers = service.login(person)
    mdtrt_id = his.open_visit(
        person.psn_no, dept_code="A03.01", dept_name="心血管内科", dr_name="李医生"
    ).json()["mdtrt_id"]
    charged = his.charge(mdtrt_id, (HEALTH_ADVICE, "30.00", "1"), (REGISTRATION, "1.00", "1"))
    cancelled_sn = charged.json()["fees"][1]["feedetl_sn"]
    his.delete(f"/his/v1/visits/{mdtrt_id}/fees/{cancelled_sn}")
    bill_id = his.post(f"/his/v1/visits/{mdtrt_id}/close").json()["bill_id"]
    response = service.client.get(f"/v1/bills/{bill_id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bill_id"] == bill_id
    assert body["mdtrt_id"] == mdtrt_id
    assert body["status"] == "billed"
    assert body["medfee_sumamt"] == "30.00"
    assert (body["dept_code"], body["dept_name"], body["dr_name"]) == (
        "A03.01",
        "心血管内科",
        "李医生",
    )
    assert body["med_type"] == "11"
    assert body["begntime"] == "2026-11-23T09:30:00+08:00"
    (line,) = body["fees"]  # the cancelled line was never part of the bill
    assert line["med_list_codg"] == HEALTH_ADVICE
    assert line["status"] == "billed"
    assert line["det_item_fee_sumamt"] == "30.00"
    assert line["chrgitm_lv"] == "C"
    assert body["estimate"]["psn_part_amt"] == "30.00"
    assert body["events"] == [
        {
            "kind": "closed",
            "from_status": None,
            "to_status": "billed",
            "amount": "30.00",
            "at": "2026-11-23T09:30:00+08:00",
        }
    ]


def test_someone_elses_bill_is_not_found_exactly_like_a_bill_that_does_not_exist(service, his):
    me, _ = service.enrol()
    other, _ = service.enrol()
    bill_id = bill_for(his, other.psn_no, (HEALTH_ADVICE, "30.00", "1"))["bill_id"]
    headers = service.login(me)
    theirs = service.client.get(f"/v1/bills/{bill_id}", headers=headers)
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"
    missing = service.client.get("/v1/bills/BL20261123000000000000", headers=headers)
    assert missing.status_code == 404
    assert theirs.json()["error"]["message"].replace(bill_id, "X") == missing.json()["error"][
        "message"
    ].replace("BL20261123000000000000", "X")
    assert (
        service.client.get(f"/v1/bills/{bill_id}", headers=service.login(other)).status_code == 200
    )


def test_an_over_long_bill_id_is_a_validation_error(service):
    person, _ = service.enrol()
    response = service.client.get(f"/v1/bills/{'B' * 41}", headers=service.login(person))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "path.bill_id"


def test_the_openapi_document_lists_each_patient_and_admin_calls_error_codes(service):
    paths = service.client.get("/openapi.json").json()["paths"]
    expected = {
        ("post", "/v1/agreements"): {
            "401": ["unauthenticated"],
            "403": ["forbidden"],
            "404": ["patient_not_found"],
            "409": ["version_mismatch", "idempotency_key_reused"],
            "422": ["validation_error", "invalid_certno", "identity_mismatch"],
            "503": ["credit_report_unavailable"],
        },
        ("delete", "/v1/agreements/current"): {
            "401": ["unauthenticated"],
            "403": ["not_signed"],
            "409": ["outstanding_balance"],
        },
        ("get", "/v1/me/credit"): {"401": ["unauthenticated"]},
        ("get", "/v1/me/bills"): {"401": ["unauthenticated"], "422": ["validation_error"]},
        ("get", "/v1/bills/{bill_id}"): {"401": ["unauthenticated"], "404": ["not_found"]},
        ("put", "/admin/v1/catalogue/{med_list_codg}"): {
            "401": ["unauthenticated"],
            "422": ["validation_error"],
        },
        ("get", "/admin/v1/catalogue/{med_list_codg}"): {"404": ["not_found"]},
        ("get", "/admin/v1/reports/daily"): {"401": ["unauthenticated"], "404": ["not_found"]},
    }
    for (method, path), by_status in expected.items():
        operation = paths[path][method]
        assert operation["summary"] and operation["description"], path
        for status, codes in by_status.items():
            description = operation["responses"][status]["description"]
            for code in codes:
                assert f"`{code}`" in description, (path, status, code)
        success = next(s for s in operation["responses"] if s.startswith("2"))
        assert operation["responses"][success]["content"]["application/json"]["schema"], path
