"""The sandbox over HTTP: test persons the platforms report, a clock that moves, absent in production."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from settlement.adapters.sandbox_tables import SandboxInsuredPerson
from settlement.foundation.clock import SystemClock
from tests.harness import build_service, make_certno

CERTNO = make_certno(date(1975, 3, 12), 77)


@pytest.fixture
def service(engine):
    svc = build_service(engine)
    svc.add_hospital("H3", level=3)
    return svc


def person_body(**overrides):
    return {
        "psn_no": "37149900000000000001",
        "certno": CERTNO,
        "psn_name": "沙箱患者",
        "phone": "13500135001",
        "insutype": "310",
        "psn_type": "12",
        "balc": "250.50",
        "ytd": {"act_pay_dedc": "200.00", "hifp_pay": "10.00"},
        "credit": {"rating": "A", "dishonest": False, "contribution_months": 180},
        **overrides,
    }


def person_rows(service):
    with service.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(SandboxInsuredPerson))


def test_a_test_person_is_created_with_the_identity_number_masked(service):
    response = service.client.post("/sandbox/v1/insured-persons", json=person_body())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "psn_no": "37149900000000000001",
        "certno": CERTNO[:4] + "*" * 10 + CERTNO[-4:],
        "psn_name": "沙箱患者",
        "phone": "13500135001",
        "insutype": "310",
        "psn_type": "12",
        "status": "active",
        "insuplc_admdvs": "371400",
        "balc": "250.50",
        "ytd": {"act_pay_dedc": "200.00", "hifp_pay": "10.00"},
        "credit": {"rating": "A", "dishonest": False, "contribution_months": 180},
    }


def test_a_test_person_can_log_in_sign_and_be_seen_by_the_hospital(service):
    service.client.post("/sandbox/v1/insured-persons", json=person_body())
    sent = service.client.post("/v1/auth/otp", json={"phone": "13500135001"}).json()
    token = service.client.post(
        "/v1/auth/token", json={"phone": "13500135001", "code": sent["sandbox_code"]}
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "Idempotency-Key": "s-1"}
    signed = service.client.post(
        "/v1/agreements",
        json={
            "psn_no": "37149900000000000001",
            "certno": CERTNO,
            "psn_name": "沙箱患者",
            "version": 1,
            "accept": True,
            "autopay": "off",
        },
        headers=headers,
    )
    assert signed.status_code == 201, signed.text
    credit = service.hospitals["H3"].get("/his/v1/patients/37149900000000000001/credit").json()
    assert credit["status"] == "active"
    assert credit["credit_line"] == signed.json()["credit_line"]


def test_posting_the_same_psn_no_again_replaces_the_person(service):
    service.client.post("/sandbox/v1/insured-persons", json=person_body())
    again = service.client.post(
        "/sandbox/v1/insured-persons",
        json=person_body(
            balc="9.99",
            status="suspended",
            credit={"rating": "C", "dishonest": True, "contribution_months": 3},
        ),
    )
    assert again.status_code == 201
    assert again.json()["balc"] == "9.99"
    assert again.json()["status"] == "suspended"
    assert again.json()["credit"]["dishonest"] is True
    assert person_rows(service) == 1


def test_ytd_may_be_left_out_and_is_then_nothing_used(service):
    body = person_body()
    del body["ytd"]
    response = service.client.post("/sandbox/v1/insured-persons", json=body)
    assert response.status_code == 201
    assert response.json()["ytd"] == {"act_pay_dedc": "0.00", "hifp_pay": "0.00"}


def test_a_json_number_amount_is_taken_exactly(service):
    raw = json.dumps(person_body(balc="__BALC__")).replace('"__BALC__"', "0.1")
    response = service.client.post(
        "/sandbox/v1/insured-persons",
        content=raw.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["balc"] == "0.10"


def test_a_bad_identity_number_is_invalid_certno_and_writes_nothing(service):
    wrong_check = CERTNO[:17] + ("0" if CERTNO[17] != "0" else "1")
    for certno in (wrong_check, CERTNO[:17], "37140219751312077X"):
        response = service.client.post(
            "/sandbox/v1/insured-persons", json=person_body(certno=certno)
        )
        assert response.status_code == 422, certno
        error = response.json()["error"]
        assert error["code"] == "invalid_certno", certno
        assert error["fields"][0]["path"] == "certno"
    assert person_rows(service) == 0


BAD_PERSON_BODIES = [
    ({"extra": True}, "extra"),
    ({"balc": "1.234"}, "balc"),
    ({"balc": 1.234}, "balc"),
    ({"balc": "-1.00"}, "balc"),
    ({"balc": "10000000.00"}, "balc"),
    ({"balc": {"amount": "1"}}, "balc"),
    ({"balc": ["1"]}, "balc"),
    ({"balc": "twelve"}, "balc"),
    ({"balc": True}, "balc"),
    ({"ytd": {"act_pay_dedc": "0.001", "hifp_pay": "0"}}, "ytd.act_pay_dedc"),
    ({"ytd": {"act_pay_dedc": "0", "hifp_pay": "0", "x": 1}}, "ytd.x"),
    ({"ytd": "0"}, "ytd"),
    (
        {"credit": {"rating": "E", "dishonest": False, "contribution_months": 1}},
        "credit.rating",
    ),
    (
        {"credit": {"rating": "A", "dishonest": "no", "contribution_months": 1}},
        "credit.dishonest",
    ),
    (
        {"credit": {"rating": "A", "dishonest": False, "contribution_months": -1}},
        "credit.contribution_months",
    ),
    (
        {"credit": {"rating": "A", "dishonest": False, "contribution_months": "12"}},
        "credit.contribution_months",
    ),
    ({"psn_name": "名" * 51}, "psn_name"),
    ({"psn_name": ""}, "psn_name"),
    ({"psn_no": "3" * 31}, "psn_no"),
    ({"psn_no": ["37149900000000000001"]}, "psn_no"),
    ({"certno": "3" * 33}, "certno"),
    ({"phone": "23500135001"}, "phone"),
    ({"insutype": "31"}, "insutype"),
    ({"psn_type": "13"}, "psn_type"),
    ({"status": "dead"}, "status"),
    ({"insuplc_admdvs": "3714"}, "insuplc_admdvs"),
]


def test_bad_input_is_422_with_the_field_path_and_writes_nothing(service):
    for change, path in BAD_PERSON_BODIES:
        response = service.client.post("/sandbox/v1/insured-persons", json=person_body(**change))
        assert response.status_code == 422, (change, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error", change
        assert path in [field["path"] for field in error["fields"]], change
    assert person_rows(service) == 0


def test_a_missing_credit_profile_is_named(service):
    body = person_body()
    del body["credit"]
    response = service.client.post("/sandbox/v1/insured-persons", json=body)
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["credit"]


def test_the_clock_moves_forward_by_whole_and_decimal_hours(service):
    response = service.client.post("/sandbox/v1/clock/advance", json={"hours": 72})
    assert response.status_code == 200
    assert response.json() == {"now": "2026-11-26T09:30:00+08:00"}
    again = service.client.post("/sandbox/v1/clock/advance", json={"hours": "1.25"})
    assert again.json() == {"now": "2026-11-26T10:45:00+08:00"}
    number = service.client.post(
        "/sandbox/v1/clock/advance",
        content=b'{"hours": 0.01}',
        headers={"Content-Type": "application/json"},
    )
    assert number.json() == {"now": "2026-11-26T10:45:36+08:00"}
    assert service.clock.now().isoformat() == "2026-11-26T02:45:36+00:00"


def test_moving_the_clock_moves_deadlines_the_service_sees(service):
    person, _ = service.enrol()
    headers = service.login(person)
    service.client.post("/sandbox/v1/clock/advance", json={"hours": 24 * 31})
    # The login token is good for 30 days: a month later it has expired.
    assert service.client.get("/v1/me/credit", headers=headers).status_code == 401


def test_the_clock_refuses_hours_that_are_not_a_forward_move_of_at_most_a_year(service):
    for hours in (
        0,
        "0",
        -1,
        "-0.5",
        8761,
        "8760.01",
        "1.234",
        1.234,
        "abc",
        {"h": 1},
        [1],
        None,
        True,
    ):
        response = service.client.post("/sandbox/v1/clock/advance", json={"hours": hours})
        assert response.status_code == 422, (hours, response.text)
        assert response.json()["error"]["fields"][0]["path"] == "hours", hours
    assert service.clock.now().isoformat() == "2026-11-23T01:30:00+00:00"


def test_a_year_is_the_most_the_clock_moves_at_once(service):
    response = service.client.post("/sandbox/v1/clock/advance", json={"hours": "8760"})
    assert response.status_code == 200
    assert response.json()["now"] == "2027-11-23T09:30:00+08:00"


def test_the_clock_refuses_unknown_fields(service):
    response = service.client.post("/sandbox/v1/clock/advance", json={"hours": 1, "days": 1})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "days"


def test_a_system_clock_cannot_be_moved(service):
    service.container.clock = SystemClock()
    response = service.client.post("/sandbox/v1/clock/advance", json={"hours": 1})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_the_sandbox_is_absent_in_production(engine):
    production = build_service(engine, mode="production")
    for path, body in (
        ("/sandbox/v1/insured-persons", person_body()),
        ("/sandbox/v1/clock/advance", {"hours": 1}),
    ):
        response = production.client.post(path, json=body)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    paths = production.client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/sandbox")]
    assert person_rows(production) == 0
    assert production.clock.now().isoformat() == "2026-11-23T01:30:00+00:00"


def test_the_sandbox_is_listed_in_the_openapi_document_in_sandbox_mode(service):
    paths = service.client.get("/openapi.json").json()["paths"]
    operation = paths["/sandbox/v1/insured-persons"]["post"]
    assert "invalid_certno" in operation["responses"]["422"]["description"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]
    assert "/sandbox/v1/clock/advance" in paths
