"""The agreement over HTTP: read it, sign it (a credit decision and a ledger line), revoke it."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from settlement.adapters.sandbox_tables import SandboxInsuredPerson
from settlement.billing.credit_tables import AgreementSignatureRow
from tests.harness import build_service

REGISTRATION = "001101000010000"  # class A, price cap 1.00


@pytest.fixture
def service(engine):
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    svc = build_service(engine, account_balance="0.00")
    svc.add_hospital("H3", level=3)
    return svc


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def sign_body(person, **overrides):
    return {
        "psn_no": person.psn_no,
        "certno": person.certno,
        "psn_name": person.psn_name,
        "version": 1,
        "accept": True,
        "autopay": "on_close",
        **overrides,
    }


def post_sign(service, headers, body, *, key=None):
    return service.client.post(
        "/v1/agreements",
        json=body,
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex, "User-Agent": "app/1.0"},
    )


def revoke(service, headers, *, key=None):
    return service.client.delete(
        "/v1/agreements/current",
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


def signatures(service):
    with service.container.uow() as uow:
        rows = uow.session.scalars(select(AgreementSignatureRow)).all()
        uow.session.expunge_all()
        return rows


def signature_count(service):
    with service.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AgreementSignatureRow))


def test_anyone_can_read_the_agreement_in_force_with_its_hash(service):
    response = service.client.get("/v1/agreements/current")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"version", "title", "text", "summary_en", "sha256"}
    assert body["version"] == 1
    assert body["title"] and body["summary_en"]
    assert body["sha256"] == hashlib.sha256(body["text"].encode()).hexdigest()


def test_signing_gives_a_credit_decision_and_grants_the_line_in_the_ledger(service):
    person = service.add_person(rating="B", contribution_months=30)
    headers = service.login(person)
    response = post_sign(service, headers, sign_body(person))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["psn_no"] == person.psn_no
    assert body["status"] == "active"
    line = Decimal(body["credit_line"])
    assert Decimal(600) <= line <= Decimal(1000)
    assert body["available"] == body["credit_line"]
    assert body["reasons"] and all({"code", "zh", "en"} <= set(r) for r in body["reasons"])
    assert body["scorecard_version"]
    assert body["autopay"] == "on_close"
    assert body["version"] == 1
    assert body["signed_at"] == "2026-11-23T09:30:00+08:00"
    credit = service.client.get("/v1/me/credit", headers=headers).json()
    assert credit["status"] == "active"
    assert credit["available"] == body["credit_line"]


def test_a_signature_keeps_the_channel_address_user_agent_and_text_hash(service):
    person = service.add_person()
    headers = service.login(person)
    assert post_sign(service, headers, sign_body(person)).status_code == 201
    (row,) = signatures(service)
    agreement = service.client.get("/v1/agreements/current").json()
    assert row.channel == "app"
    assert row.client_addr == "testclient"
    assert row.user_agent == "app/1.0"
    assert row.autopay == "on_close"
    assert row.text_sha256 == agreement["sha256"]


def test_a_signed_patient_can_open_a_visit_at_once(service, his):
    person = service.add_person()
    headers = service.login(person)
    assert post_sign(service, headers, sign_body(person)).status_code == 201
    assert his.open_visit(person.psn_no).status_code == 201


def test_a_retry_with_the_same_key_replays_the_decision_and_changes_nothing(service):
    person = service.add_person()
    headers = service.login(person)
    first = post_sign(service, headers, sign_body(person), key="sign-1")
    again = post_sign(service, headers, sign_body(person), key="sign-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert signature_count(service) == 1


def test_the_same_key_with_another_body_is_refused(service):
    person = service.add_person()
    headers = service.login(person)
    post_sign(service, headers, sign_body(person), key="sign-2")
    other = post_sign(service, headers, sign_body(person, autopay="off"), key="sign-2")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_signing_again_under_a_new_key_returns_the_same_decision(service):
    person = service.add_person()
    headers = service.login(person)
    first = post_sign(service, headers, sign_body(person)).json()
    second = post_sign(service, headers, sign_body(person)).json()
    assert second["credit_line"] == first["credit_line"]
    assert second["signed_at"] == first["signed_at"]
    assert signature_count(service) == 1


def test_signing_without_an_idempotency_key_signs_once(service):
    # The contract asks for a key on HIS writes and payments only: a phone signs without one,
    # and signing again returns the same decision (signing is idempotent by itself).
    person = service.add_person()
    headers = service.login(person)
    first = service.client.post("/v1/agreements", json=sign_body(person), headers=headers)
    again = service.client.post("/v1/agreements", json=sign_body(person), headers=headers)
    assert first.status_code == 201, first.text
    assert again.json()["signed_at"] == first.json()["signed_at"]
    assert "Idempotent-Replayed" not in again.headers
    assert signature_count(service) == 1


@pytest.mark.parametrize("key", ["", "x" * 65, "has space"])
def test_signing_with_a_malformed_idempotency_key_is_refused(service, key):
    person = service.add_person()
    headers = service.login(person)
    response = service.client.post(
        "/v1/agreements", json=sign_body(person), headers={**headers, "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "header.Idempotency-Key"
    assert signature_count(service) == 0


def test_revoking_without_an_idempotency_key_revokes(service):
    person = service.add_person()
    headers = service.login(person)
    assert post_sign(service, headers, sign_body(person)).status_code == 201
    response = service.client.delete("/v1/agreements/current", headers=headers)
    assert response.status_code == 200, response.text
    assert service.client.get("/v1/me/credit", headers=headers).json()["status"] == "not_signed"


def test_signing_for_someone_else_is_forbidden_and_writes_nothing(service):
    me, other = service.add_person(), service.add_person()
    headers = service.login(me)
    response = post_sign(service, headers, sign_body(other))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert signature_count(service) == 0


def test_a_malformed_identity_number_is_invalid_certno(service):
    person = service.add_person()
    headers = service.login(person)
    for certno in (
        "37140219800501001",
        "3714021980050100133",
        "37140219800501001A",
        "371402198013010013",
    ):
        response = post_sign(service, headers, sign_body(person, certno=certno))
        assert response.status_code == 422, certno
        assert response.json()["error"]["code"] == "invalid_certno", certno
    assert signature_count(service) == 0


def test_a_wrong_check_character_is_invalid_certno_too(service):
    person = service.add_person()
    headers = service.login(person)
    wrong = person.certno[:17] + ("0" if person.certno[17] != "0" else "1")
    response = post_sign(service, headers, sign_body(person, certno=wrong))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_certno"


@pytest.mark.parametrize("field", ["certno", "psn_name"])
def test_a_name_or_number_that_is_not_on_record_is_identity_mismatch(service, field):
    person, stranger = service.add_person(), service.add_person()
    headers = service.login(person)
    override = {"certno": stranger.certno} if field == "certno" else {"psn_name": "李四"}
    response = post_sign(service, headers, sign_body(person, **override))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "identity_mismatch"
    assert signature_count(service) == 0


def test_a_version_that_is_not_in_force_is_refused(service):
    person = service.add_person()
    headers = service.login(person)
    response = post_sign(service, headers, sign_body(person, version=2))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "version_mismatch"
    assert error["current_version"] == 1


def test_a_person_the_insurance_platform_no_longer_knows_is_patient_not_found(service):
    person = service.add_person()
    headers = service.login(person)
    with service.container.uow() as uow:
        uow.session.delete(uow.session.get(SandboxInsuredPerson, person.psn_no))
        uow.commit()
    response = post_sign(service, headers, sign_body(person))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "patient_not_found"


def test_without_a_credit_report_signing_answers_503(service):
    person = service.add_person()
    headers = service.login(person)

    class NoReports:
        def __init__(self, session):
            pass

        def rating(self, certno):
            return None

        def report_overdue(self, report):
            return False

    service.container.credit_platform = NoReports
    response = post_sign(service, headers, sign_body(person))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "credit_report_unavailable"
    assert signature_count(service) == 0


BAD_SIGN_BODIES = [
    ({"extra": 1}, "extra"),
    ({"accept": False}, "accept"),
    ({"accept": "true"}, "accept"),
    ({"autopay": "always"}, "autopay"),
    ({"version": "1"}, "version"),
    ({"version": 0}, "version"),
    ({"version": {"v": 1}}, "version"),
    ({"psn_name": "名" * 51}, "psn_name"),
    ({"psn_name": ["张三"]}, "psn_name"),
    ({"certno": "3" * 33}, "certno"),
    ({"certno": 371402198005010013}, "certno"),
    ({"psn_no": "x"}, "psn_no"),
]


def test_bad_input_is_422_with_the_field_path_and_writes_nothing(service):
    person = service.add_person()
    headers = service.login(person)
    for change, path in BAD_SIGN_BODIES:
        response = post_sign(service, headers, sign_body(person, **change))
        assert response.status_code == 422, (change, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error", change
        assert path in [field["path"] for field in error["fields"]], change
    assert signature_count(service) == 0


def test_a_missing_field_is_named(service):
    person = service.add_person()
    headers = service.login(person)
    body = sign_body(person)
    del body["autopay"]
    response = post_sign(service, headers, body)
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["autopay"]


def test_signing_needs_a_patient_token(service, his):
    person = service.add_person()
    body = sign_body(person)
    bare = service.client.post("/v1/agreements", json=body, headers={"Idempotency-Key": "k1"})
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "unauthenticated"
    admin = post_sign(service, service.admin, body)
    assert admin.status_code == 401
    signed_by_his = his.post("/v1/agreements", body)
    assert signed_by_his.status_code == 401
    assert signature_count(service) == 0


def test_revoking_with_nothing_owed_takes_the_line_back(service, his):
    person = service.add_person()
    headers = service.login(person)
    post_sign(service, headers, sign_body(person))
    response = revoke(service, headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "not_signed"
    assert body["credit_line"] == "0.00"
    assert body["reasons"][0]["code"] == "agreement_revoked"
    assert body["revoked_at"].endswith("+08:00")
    credit = service.client.get("/v1/me/credit", headers=headers).json()
    assert credit["status"] == "not_signed"
    assert credit["available"] == "0.00"
    refused = his.open_visit(person.psn_no)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_signed"


def test_a_revoked_patient_can_sign_again(service):
    person = service.add_person()
    headers = service.login(person)
    first = post_sign(service, headers, sign_body(person)).json()
    revoke(service, headers)
    again = post_sign(service, headers, sign_body(person))
    assert again.status_code == 201
    assert again.json()["status"] == "active"
    assert again.json()["available"] == first["credit_line"]


def test_a_revocation_retried_with_its_key_is_replayed(service):
    person = service.add_person()
    headers = service.login(person)
    post_sign(service, headers, sign_body(person))
    first = revoke(service, headers, key="rv-1")
    again = revoke(service, headers, key="rv-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_revoking_while_a_visit_holds_charges_is_refused(service, his):
    person = service.add_person()
    headers = service.login(person)
    post_sign(service, headers, sign_body(person))
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (REGISTRATION, "1.00", "3"))
    response = revoke(service, headers)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "outstanding_balance"
    assert error["on_hold"] == "3.00"
    assert service.client.get("/v1/me/credit", headers=headers).json()["status"] == "active"


def test_revoking_with_an_open_visit_and_no_charges_is_refused(service, his):
    person = service.add_person()
    headers = service.login(person)
    post_sign(service, headers, sign_body(person))
    his.open_visit(person.psn_no)
    response = revoke(service, headers)
    assert response.status_code == 409
    assert response.json()["error"]["open_visits"] == 1


def test_revoking_with_an_unpaid_bill_is_refused(service, his):
    person = service.add_person()
    headers = service.login(person)
    post_sign(service, headers, sign_body(person))
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (REGISTRATION, "1.00", "2"))
    his.post(f"/his/v1/visits/{mdtrt_id}/close")
    response = revoke(service, headers)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "outstanding_balance"
    assert error["outstanding"] == "2.00"


def test_revoking_without_a_signature_is_not_signed(service):
    person = service.add_person()
    headers = service.login(person)
    response = revoke(service, headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_signed"


def test_revoking_needs_a_patient_token(service):
    response = service.client.delete("/v1/agreements/current", headers={"Idempotency-Key": "k"})
    assert response.status_code == 401


def test_a_patient_outside_employee_insurance_signs_but_gets_no_credit(service):
    person = service.add_person(insutype="390")
    headers = service.login(person)
    response = post_sign(service, headers, sign_body(person))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "not_eligible"
    assert body["credit_line"] == body["available"] == "0.00"
    assert "not_employee_insurance" in [r["code"] for r in body["reasons"]]
