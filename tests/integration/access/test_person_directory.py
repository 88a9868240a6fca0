"""The default person directory reads the sandbox insurance platform's persons by phone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settlement.access.directory import SandboxPersonDirectory
from settlement.adapters.sandbox_tables import SandboxInsuredPerson


def person(psn_no: str, phone: str) -> SandboxInsuredPerson:
    return SandboxInsuredPerson(
        psn_no=psn_no,
        certno="371402199001011234",
        psn_name="张三",
        phone=phone,
        insutype="310",
        psn_type="11",
        insuplc_admdvs="371400",
        rating="A",
    )


@pytest.fixture
def sandbox_persons(uow_factory):
    with uow_factory() as uow:
        uow.session.add_all([person("P0002", "13800138000"), person("P0001", "13900139000")])
        uow.commit()


def test_a_phone_on_file_finds_its_person(uow_factory, sandbox_persons):
    with uow_factory() as uow:
        assert SandboxPersonDirectory().find_by_phone(uow.session, "13800138000") == "P0002"
        assert SandboxPersonDirectory().find_by_phone(uow.session, "13900139000") == "P0001"


def test_a_phone_nobody_has_finds_nobody(uow_factory, sandbox_persons):
    with uow_factory() as uow:
        assert SandboxPersonDirectory().find_by_phone(uow.session, "13700137000") is None


def test_a_sandbox_person_logs_in_through_the_default_wiring(container, sandbox_persons):
    with TestClient(create_app(container)) as client:
        code = client.post("/v1/auth/otp", json={"phone": "13800138000"}).json()["sandbox_code"]
        token = client.post("/v1/auth/token", json={"phone": "13800138000", "code": code})
    assert token.status_code == 200
    assert token.json()["psn_no"] == "P0002"
