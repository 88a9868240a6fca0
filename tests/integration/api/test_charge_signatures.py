"""Signed charge batches: the charge route records the nonce in its own thread (SignedHospital),
so these are the signature tests again, on that route: a replay, a rotated secret, a forgery and
a race with one nonce are each refused, and nothing of the refused request is written."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from insurance.pricing import line_amount
from settlement.access.hospitals import rotate_secret
from settlement.access.nonces import RequestNonce
from settlement.access.signing import new_nonce, sign_request
from settlement.billing.tables import FeeLine
from tests.races import run_together

REGISTRATION = "001101000010000"


def batch(service) -> dict[str, Any]:
    sn = uuid.uuid4().hex[:12]
    return {
        "chrg_bchno": f"B{sn}",
        "fees": [
            {
                "feedetl_sn": f"F{sn}",
                "med_list_codg": REGISTRATION,
                "item_name": "挂号",
                "pric": "1.00",
                "cnt": "1",
                "det_item_fee_sumamt": f"{line_amount(Decimal('1.00'), Decimal('1')):.2f}",
                "fee_ocur_time": service.clock.now().isoformat(),
            }
        ],
    }


def signed_charge(service, code: str, secret: str, mdtrt_id: str, body: Any, nonce: str):
    """A charge request's path, body and headers, fixed so that it can be sent again as is."""
    path = f"/his/v1/visits/{mdtrt_id}/fees"
    content = json.dumps(body).encode()
    headers = sign_request(
        secret,
        "POST",
        path,
        content,
        int(service.clock.now().timestamp()),
        nonce,
        hospital_code=code,
    )
    headers |= {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    return path, content, headers


def send(service, charge):
    path, content, headers = charge
    return service.hospitals["H3"].client.post(path, content=content, headers=headers)


def lines(service) -> int:
    with service.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(FeeLine)) or 0


def nonce_recorded(service, nonce: str) -> bool:
    with service.container.uow() as uow:
        found = uow.session.scalar(select(RequestNonce.nonce).where(RequestNonce.nonce == nonce))
        return found is not None


@pytest.fixture
def visit(service) -> str:
    person, _ = service.enrol()
    opened = service.hospitals["H3"].open_visit(person.psn_no)  # H3 is now known to the process
    assert opened.status_code == 201, opened.text
    return str(opened.json()["mdtrt_id"])


@pytest.mark.parametrize("known", [True, False], ids=["hospital-known", "hospital-not-known"])
def test_a_replayed_charge_is_refused_and_posts_nothing(service, visit, known):
    if not known:  # as in a process that has not served this hospital yet
        service.container.known_hospitals.forget("H3")
    h3 = service.hospitals["H3"]
    charge = signed_charge(service, "H3", h3.secret, visit, batch(service), new_nonce())
    first = send(service, charge)
    assert first.status_code == 201, first.text
    replay = send(service, charge)
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"]["code"] == "nonce_reused"
    assert lines(service) == 1


def test_a_charge_signed_with_a_secret_rotated_elsewhere_is_refused(service, visit):
    h3 = service.hospitals["H3"]
    # Rotated through another unit of work, as another worker process would: this process still
    # knows the old secret, and learns of the rotation from the nonce's statement.
    with service.container.uow() as uow:
        new_secret = rotate_secret(
            uow.session,
            code="H3",
            secret_key=service.container.settings.secret_key,
            clock=service.clock,
        )
        uow.commit()
    old = send(service, signed_charge(service, "H3", h3.secret, visit, batch(service), new_nonce()))
    assert old.status_code == 401, old.text
    assert old.json()["error"]["code"] == "bad_signature"
    assert lines(service) == 0
    new = send(
        service, signed_charge(service, "H3", new_secret, visit, batch(service), new_nonce())
    )
    assert new.status_code == 201, new.text
    assert lines(service) == 1


def test_a_forged_charge_is_refused_before_its_body_is_looked_at(service, visit):
    nonce = new_nonce()
    forged = send(service, signed_charge(service, "H3", "f" * 64, visit, {"fees": 7}, nonce))
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "bad_signature"
    assert not nonce_recorded(service, nonce)


def test_a_signed_charge_with_an_invalid_body_is_422_and_leaves_its_nonce_unused(service, visit):
    h3 = service.hospitals["H3"]
    body = batch(service)
    body["fees"][0]["pric"] = "-1.00"
    nonce = new_nonce()
    charge = signed_charge(service, "H3", h3.secret, visit, body, nonce)
    first = send(service, charge)
    again = send(service, charge)
    # Refused before the route runs, so it changed nothing; the nonce is recorded by the route.
    assert (first.status_code, again.status_code) == (422, 422)
    assert not nonce_recorded(service, nonce)
    assert lines(service) == 0


@pytest.mark.postgres
def test_one_signed_charge_sent_eight_times_at_once_posts_once(postgres_only, service, visit):
    h3 = service.hospitals["H3"]
    charge = signed_charge(service, "H3", h3.secret, visit, batch(service), new_nonce())
    racers = 8

    def race() -> int:
        return int(send(service, charge).status_code)

    statuses = run_together([race] * racers)
    assert sorted(statuses) == [201] + [401] * (racers - 1)
    assert lines(service) == 1
