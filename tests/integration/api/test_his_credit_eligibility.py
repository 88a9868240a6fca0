"""The HIS credit check (1101) tells a person who can never use credit from one who has not signed
(issue 16 item 11): the platforms' hard rules answer ``not_eligible`` with the reason, signed or not."""

from __future__ import annotations

import pytest

from settlement.adapters.sandbox_tables import SandboxPerson, upsert_sandbox_person
from settlement.foundation.ports import CreditReport


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def reason_codes(body):
    return [reason["code"] for reason in body["reasons"]]


def test_an_unsigned_resident_insured_person_is_not_eligible_not_unsigned(service, his):
    person = service.add_person(insutype="390")
    body = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert body["status"] == "not_eligible"
    assert reason_codes(body) == ["not_employee_insurance"]
    assert body["credit_line"] == body["available"] == "0.00"


def test_an_unsigned_dishonest_debtor_is_not_eligible_with_that_reason(service, his):
    person = service.add_person(dishonest=True)
    body = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert body["status"] == "not_eligible"
    assert reason_codes(body) == ["dishonest_debtor"]
    assert body["available"] == "0.00"


def test_an_unsigned_person_whose_insurance_is_suspended_is_not_eligible(service, his):
    person = service.add_person(status="suspended")
    body = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert body["status"] == "not_eligible"
    assert reason_codes(body) == ["insurance_inactive"]


def test_a_signed_person_listed_as_a_dishonest_debtor_later_is_not_eligible(service, his):
    person, _ = service.enrol()
    assert his.get(f"/his/v1/patients/{person.psn_no}/credit").json()["status"] == "active"
    with service.container.uow() as uow:
        upsert_sandbox_person(
            uow.session,
            SandboxPerson(
                person=person,
                credit=CreditReport(rating="A", dishonest=True, contribution_months=240),
            ),
        )
        uow.commit()
    body = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert body["status"] == "not_eligible"
    assert reason_codes(body) == ["dishonest_debtor"]
    assert body["credit_line"] == body["available"] == "0.00"


def test_an_eligible_unsigned_person_still_says_not_signed(service, his):
    person = service.add_person()
    body = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert body["status"] == "not_signed"
    assert reason_codes(body) == ["not_signed"]
