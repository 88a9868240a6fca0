"""An API over the test database with a probe route per surface (HIS, patient, admin)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import (
    AdminDep,
    PatientDep,
    SignedHospitalDep,
    get_code_sender,
    get_person_directory,
)
from settlement.access.hospitals import create_hospital
from settlement.access.signing import new_nonce, sign_request
from settlement.bootstrap import Container, bootstrap
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.config import Settings

FROZEN_AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
ADMIN_TOKEN = "test-admin-token-0123456789"
SECRET_KEY = "test-secret-key-0123456789abcdef"
KNOWN_PHONE = "13800138000"
KNOWN_PSN_NO = "37140000000000000001"
OTHER_PHONE = "13900139000"
OTHER_PSN_NO = "37140000000000000002"
UNKNOWN_PHONE = "13700137000"


class FakeDirectory:
    def __init__(self, phones: dict[str, str]) -> None:
        self.phones = phones

    def find_by_phone(self, session: Session, phone: str) -> str | None:
        return self.phones.get(phone)


@dataclass
class RecordingSender:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send_login_code(
        self,
        session: Session,
        *,
        psn_no: str,
        phone: str,
        code: str,
        code_salt: str,
        expires_in: int,
    ) -> None:
        self.sent.append((psn_no, phone, code))


probe = APIRouter()


@probe.post("/his/v1/_probe")
def his_probe_post(signed: SignedHospitalDep, body: dict[str, Any]) -> dict[str, Any]:
    hospital = signed.hospital()
    return {"hospital": hospital.code, "level": hospital.level, "body": body}


@probe.get("/his/v1/_probe")
def his_probe_get(signed: SignedHospitalDep, q: str | None = None) -> dict[str, Any]:
    hospital = signed.hospital()
    return {"hospital": hospital.code, "q": q}


@probe.get("/v1/_probe")
def patient_probe(psn_no: PatientDep) -> dict[str, str]:
    return {"psn_no": psn_no}


@probe.get("/admin/v1/_probe")
def admin_probe(admin: AdminDep) -> dict[str, str]:
    return {"admin": admin.name}


def make_settings(mode: str = "sandbox") -> Settings:
    return Settings(
        database_url="sqlite://", mode=mode, admin_token=ADMIN_TOKEN, secret_key=SECRET_KEY
    )


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(frozen_at=FROZEN_AT)


@pytest.fixture
def mode() -> str:
    return "sandbox"


@pytest.fixture
def container(engine: Engine, clock: AdjustableClock, mode: str) -> Container:
    return bootstrap(make_settings(mode), engine=engine, clock=clock, real_clock=clock)


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory({KNOWN_PHONE: KNOWN_PSN_NO, OTHER_PHONE: OTHER_PSN_NO})


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def app(container: Container, directory: FakeDirectory, sender: RecordingSender) -> FastAPI:
    app = create_app(container)
    app.include_router(probe)
    app.dependency_overrides[get_person_directory] = lambda: directory
    app.dependency_overrides[get_code_sender] = lambda: sender
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@dataclass(frozen=True)
class RegisteredHospital:
    code: str
    secret: str


@pytest.fixture
def hospital(container: Container) -> RegisteredHospital:
    with container.uow() as uow:
        created, secret = create_hospital(
            uow.session,
            code="H37140200001",
            name="德州市人民医院",
            level=3,
            secret_key=SECRET_KEY,
            clock=container.clock,
        )
        uow.commit()
    return RegisteredHospital(created.code, secret)


def signed(
    client: TestClient,
    method: str,
    path_with_query: str,
    *,
    code: str,
    secret: str,
    body: Any = None,
    timestamp: int | None = None,
    nonce: str | None = None,
    sent_body: bytes | None = None,
    sent_path: str | None = None,
) -> httpx.Response:
    """A signed HIS request; ``sent_*`` send something other than what was signed (tampering)."""
    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    stamp = int(FROZEN_AT.timestamp()) if timestamp is None else timestamp
    headers = sign_request(
        secret,
        method,
        path_with_query,
        raw,
        stamp,
        nonce or new_nonce(),
        hospital_code=code,
    )
    if body is not None:
        headers["Content-Type"] = "application/json"
    return client.request(
        method,
        sent_path or path_with_query,
        content=sent_body if sent_body is not None else raw,
        headers=headers,
    )


def login(client: TestClient, phone: str = KNOWN_PHONE) -> str:
    """A patient bearer token through the sandbox login."""
    sent = client.post("/v1/auth/otp", json={"phone": phone})
    assert sent.status_code == 200, sent.text
    token = client.post(
        "/v1/auth/token", json={"phone": phone, "code": sent.json()["sandbox_code"]}
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])
