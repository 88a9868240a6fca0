"""A whole service over the test database: signed HIS clients, enrolled patients, a movable clock."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from credit.decision import RepaymentHistory
from credit.identity import certno_check_char
from insurance.catalogue import load_catalogue
from settlement.access.hospitals import create_hospital
from settlement.access.signing import new_nonce, sign_request
from settlement.adapters.sandbox_tables import SandboxPerson, upsert_sandbox_person
from settlement.billing.catalogue import load_items
from settlement.billing.credit_line import sync_line
from settlement.bootstrap import Container, bootstrap
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.config import Settings
from settlement.foundation.ports import CreditReport, PersonRecord
from settlement.usecases.credit.decisions import sign_agreement
from tests.log_scan import remember

#: 2026-11-23 09:30 in Dezhou.
START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
ADMIN_TOKEN = "test-admin-token-0123456789"
SECRET_KEY = "test-secret-key-0123456789abcdef"
SEEDS = Settings().seeds_dir
_serial = itertools.count(1)


def make_certno(birth: date, serial: int) -> str:
    first17 = f"371402{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + certno_check_char(first17)


@dataclass
class HisClient:
    """Signs every request as the hospital and adds an idempotency key unless one is given."""

    client: TestClient
    code: str
    secret: str
    clock: AdjustableClock

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        nonce: str | None = None,
    ) -> httpx.Response:
        content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        signed = sign_request(
            self.secret,
            method,
            path,
            content,
            timestamp=int(self.clock.now().timestamp()),
            nonce=nonce or new_nonce(),
            hospital_code=self.code,
        )
        all_headers = {**signed, "Content-Type": "application/json"}
        if method in ("POST", "DELETE"):
            all_headers["Idempotency-Key"] = key or uuid.uuid4().hex
        all_headers.update(headers or {})
        return self.client.request(method, path, content=content, headers=all_headers)

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **options: Any) -> httpx.Response:
        return self.request("POST", path, {} if body is None else body, **options)

    def delete(self, path: str, **options: Any) -> httpx.Response:
        return self.request("DELETE", path, **options)

    # Conveniences for the common story.
    def open_visit(self, psn_no: str, **overrides: Any) -> httpx.Response:
        body = {
            "ipt_otp_no": f"MZ{next(_serial):08d}",
            "psn_no": psn_no,
            "med_type": "11",
            "dept_code": "A03",
            "dept_name": "内科",
            "dr_name": "王医生",
            "begntime": self.clock.now().isoformat(),
            **overrides,
        }
        return self.post("/his/v1/visits", body)

    def charge(self, mdtrt_id: str, *lines: tuple[str, str, str], **options: Any) -> httpx.Response:
        """Post lines given as (med_list_codg, pric, cnt); amounts computed half-up."""
        from insurance.pricing import line_amount

        fees = [
            {
                "feedetl_sn": f"F{next(_serial)}",
                "med_list_codg": code,
                "item_name": "测试项目",
                "pric": pric,
                "cnt": cnt,
                "det_item_fee_sumamt": f"{line_amount(Decimal(pric), Decimal(cnt)):.2f}",
                "fee_ocur_time": self.clock.now().isoformat(),
            }
            for code, pric, cnt in lines
        ]
        return self.post(
            f"/his/v1/visits/{mdtrt_id}/fees",
            {"chrg_bchno": f"B{next(_serial)}", "fees": fees},
            **options,
        )


@dataclass
class Service:
    container: Container
    client: TestClient
    clock: AdjustableClock
    hospitals: dict[str, HisClient] = field(default_factory=dict)
    #: The personal-account balance of a person added without ``balc``. A bill the pooled fund
    #: and the account cover entirely settles when it is made (issue 16 item 4): tests about
    #: bills that wait for the patient (reminders, overdue, auto-pay, paying) build their
    #: service with an empty account (``build_service(..., account_balance="0.00")``).
    account_balance: str = "100.00"

    def add_hospital(self, code: str, level: int = 3) -> HisClient:
        with self.container.uow() as uow:
            _, secret = create_hospital(
                uow.session,
                code=code,
                name=f"测试医院 {code}",
                level=level,
                secret_key=SECRET_KEY,
                clock=self.clock,
            )
            uow.commit()
        remember(secret)
        his = HisClient(self.client, code, secret, self.clock)
        self.hospitals[code] = his
        return his

    def add_person(
        self,
        psn_no: str | None = None,
        *,
        psn_type: str = "11",
        insutype: str = "310",
        balc: str | None = None,
        rating: str = "A",
        dishonest: bool = False,
        contribution_months: int = 240,
        phone: str | None = None,
        birth: date = date(1980, 5, 1),
        ytd_dedc: str = "0.00",
        ytd_hifp: str = "0.00",
        status: str = "active",
        psn_name: str | None = None,
        certno: str | None = None,
    ) -> PersonRecord:
        serial = next(_serial)
        psn_no = psn_no or f"3714{serial:016d}"
        person = PersonRecord(
            psn_no=psn_no,
            psn_name=psn_name or f"测试{serial}",
            certno=certno or make_certno(birth, serial),
            phone=phone or f"139{serial:08d}",
            insutype=insutype,
            psn_type=psn_type,
            status=status,
            balc=Decimal(self.account_balance if balc is None else balc),
            insuplc_admdvs="371400",
            ytd_act_pay_dedc=Decimal(ytd_dedc),
            ytd_hifp_pay=Decimal(ytd_hifp),
        )
        remember(person.certno, person.phone)
        with self.container.uow() as uow:
            upsert_sandbox_person(
                uow.session,
                SandboxPerson(
                    person=person,
                    credit=CreditReport(
                        rating=rating,
                        dishonest=dishonest,
                        contribution_months=contribution_months,
                    ),
                ),
            )
            uow.commit()
        return person

    def sign(self, person: PersonRecord, autopay: str = "off") -> Decimal:
        """Sign the agreement in force through the service layer; returns the line."""
        container = self.container
        with container.uow() as uow:
            decision = sign_agreement(
                uow.session,
                config=container.credit_config,
                clock=container.clock,
                insurance=container.insurance_platform(uow.session),
                credit=container.credit_platform(uow.session),
                psn_no=person.psn_no,
                certno=person.certno,
                psn_name=person.psn_name,
                version=container.credit_config.agreements.current(self.clock.now().date()).version,
                accept=True,
                autopay=autopay,
                channel="test",
                client_addr="127.0.0.1",
                user_agent="pytest",
                history=RepaymentHistory(),
            )
            sync_line(uow.session, psn_no=person.psn_no, line=decision.line, clock=container.clock)
            uow.commit()
        return decision.line

    def enrol(self, **person: Any) -> tuple[PersonRecord, Decimal]:
        record = self.add_person(**person)
        return record, self.sign(record)

    def advance(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta))

    def login(self, person: PersonRecord) -> dict[str, str]:
        """Log in as ``person`` through the OTP flow; returns the bearer header."""
        sent = self.client.post("/v1/auth/otp", json={"phone": person.phone})
        assert sent.status_code == 200, sent.text
        code = sent.json()["sandbox_code"]
        token = self.client.post("/v1/auth/token", json={"phone": person.phone, "code": code})
        assert token.status_code == 200, token.text
        remember(token.json()["access_token"])
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    @property
    def admin(self) -> dict[str, str]:
        """The administrator's bearer header."""
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


#: Per-address login limits high enough for any story a test tells from its one address.
TEST_CLIENT_LIMITS = {
    "rate_limit_otp_per_client": "1000/minute",
    "rate_limit_token_per_client": "1000/minute",
}


def build_service(
    engine: Engine,
    *,
    catalogue: bool = True,
    mode: str = "sandbox",
    account_balance: str = "100.00",
    **settings: Any,
) -> Service:
    """The service over ``engine``; ``mode="production"`` has no sandbox routes (the clock
    is still the test's movable one). ``settings`` override :class:`Settings` fields;
    ``account_balance`` is every added person's personal account unless the test says otherwise.

    Every test client calls from one address ("testclient") on a frozen clock, so a story that
    logs in a family would pass the per-address login limits meant for one person; those limits
    are raised here, and tests/integration/access/test_rate_limits.py sets its own."""
    settings = {**TEST_CLIENT_LIMITS, **settings}
    clock = AdjustableClock(frozen_at=START)
    settings = Settings(
        database_url="sqlite://",
        admin_token=ADMIN_TOKEN,
        secret_key=SECRET_KEY,
        mode=mode,  # type: ignore[arg-type]
        **settings,
    )
    # One frozen clock for business and real time: a test moves both (the sandbox clock test
    # builds its own service with the wall clock apart).
    container = bootstrap(settings, engine=engine, clock=clock, real_clock=clock)
    if catalogue:
        with container.uow() as uow:
            load_items(
                uow.session, load_catalogue(SEEDS / "catalogue.csv").values(), now=clock.now()
            )
            uow.commit()
    client = TestClient(create_app(container), raise_server_exceptions=False)
    return Service(container=container, client=client, clock=clock, account_balance=account_balance)
