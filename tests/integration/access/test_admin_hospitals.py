"""Hospital administration over HTTP: register, rotate; the secret is shown, never stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from settlement.access.hospitals import Hospital
from settlement.foundation.idempotency import IdempotencyRecord
from tests.integration.access.conftest import ADMIN_TOKEN, login, signed

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def admin_post(client, path: str, body=None, *, key: str | None = "key-0001", headers=None):
    sent = dict(ADMIN if headers is None else headers)
    if key is not None:
        sent["Idempotency-Key"] = key
    return client.post(path, json=body, headers=sent)


def register(client, code: str = "H37140200002", level: int = 2):
    return admin_post(
        client, "/admin/v1/hospitals", {"code": code, "name": "德州市第二人民医院", "level": level}
    )


def test_a_registered_hospital_gets_a_secret_that_signs_its_requests(client):
    created = register(client)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in ("code", "name", "level")} == {
        "code": "H37140200002",
        "name": "德州市第二人民医院",
        "level": 2,
    }
    assert len(body["secret"]) == 64
    probe = signed(client, "GET", "/his/v1/_probe", code="H37140200002", secret=body["secret"])
    assert probe.status_code == 200
    assert probe.json()["hospital"] == "H37140200002"


def test_registering_a_code_twice_is_a_conflict(client):
    register(client)
    again = admin_post(
        client,
        "/admin/v1/hospitals",
        {"code": "H37140200002", "name": "x", "level": 1},
        key="key-0002",
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_hospital"


def test_rotating_the_secret_retires_the_old_one_at_once(client):
    old = register(client).json()["secret"]
    rotated = admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="key-0003")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert rotated.json()["code"] == "H37140200002"
    assert new != old
    with_old = signed(client, "GET", "/his/v1/_probe", code="H37140200002", secret=old)
    assert with_old.status_code == 401
    assert with_old.json()["error"]["code"] == "bad_signature"
    with_new = signed(client, "GET", "/his/v1/_probe", code="H37140200002", secret=new)
    assert with_new.status_code == 200


def test_rotating_an_unknown_hospital_is_not_found(client):
    response = admin_post(client, "/admin/v1/hospitals/H00000000000/secret")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_secret_is_never_stored(client, container):
    secret = register(client).json()["secret"]
    rotated = admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="k2").json()
    with container.uow() as uow:
        row = uow.session.scalars(select(Hospital)).one()
        values = [str(getattr(row, c.key)) for c in Hospital.__table__.columns]
        assert row.secret_version == 2
        assert row.rotated_at is not None
    assert not any(secret in v or rotated["secret"] in v for v in values)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {ADMIN_TOKEN}"}],
)
def test_admin_calls_without_the_admin_token_are_unauthenticated(client, headers):
    response = admin_post(
        client, "/admin/v1/hospitals", {"code": "H1", "name": "x", "level": 1}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    rotate = admin_post(client, "/admin/v1/hospitals/H1/secret", headers=headers)
    assert rotate.status_code == 401


def test_a_patient_token_on_an_admin_call_is_refused(client):
    token = login(client)
    response = client.get("/admin/v1/_probe", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_his_signature_headers_on_an_admin_call_are_refused(client, hospital):
    response = signed(client, "GET", "/admin/v1/_probe", code=hospital.code, secret=hospital.secret)
    assert response.status_code == 401


def test_the_admin_token_passes_the_admin_dependency(client):
    assert client.get("/admin/v1/_probe", headers=ADMIN).json() == {"admin": "admin"}


def test_a_registration_without_an_idempotency_key_registers_once(client, container):
    # The contract asks for a key on HIS writes and payments only. Without one nothing is
    # stored to replay: the same registration again is a conflict, its secret not shown again.
    body = {"code": "H1", "name": "x", "level": 1}
    first = admin_post(client, "/admin/v1/hospitals", body, key=None)
    again = admin_post(client, "/admin/v1/hospitals", body, key=None)
    assert first.status_code == 201, first.text
    assert len(first.json()["secret"]) >= 32
    assert again.status_code == 409
    assert "secret" not in again.text
    with container.uow() as uow:
        assert [h.code for h in uow.session.scalars(select(Hospital))] == ["H1"]


def test_a_registration_with_a_malformed_idempotency_key_is_refused(client, container):
    response = admin_post(
        client, "/admin/v1/hospitals", {"code": "H1", "name": "x", "level": 1}, key="has space"
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "header.Idempotency-Key"
    with container.uow() as uow:
        assert uow.session.scalars(select(Hospital)).all() == []


@pytest.mark.parametrize(
    "body",
    [
        {"code": "H1", "name": "x", "level": 4},
        {"code": "H1", "name": "x", "level": "3"},
        {"code": "H1", "name": "", "level": 1},
        {"code": "bad code!", "name": "x", "level": 1},
        {"code": "H" * 33, "name": "x", "level": 1},
        {"code": "H1", "name": "x", "level": 1, "secret": "mine"},
    ],
)
def test_a_malformed_registration_is_a_validation_error(client, body):
    response = admin_post(client, "/admin/v1/hospitals", body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def stored_answers(container) -> list[str]:
    with container.uow() as uow:
        return [r.response_body or "" for r in uow.session.scalars(select(IdempotencyRecord))]


def test_a_retried_registration_replays_the_first_answer_and_registers_once(client, container):
    first = register(client)
    again = register(client)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert "secret_version" not in again.json()
    with container.uow() as uow:
        assert len(uow.session.scalars(select(Hospital)).all()) == 1


def test_a_retried_rotation_replays_the_new_secret_and_rotates_once(client, container):
    register(client)
    first = admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="rotate-1")
    again = admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="rotate-1")
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    with container.uow() as uow:
        assert uow.session.get(Hospital, "H37140200002").secret_version == 2
    probe = signed(
        client, "GET", "/his/v1/_probe", code="H37140200002", secret=again.json()["secret"]
    )
    assert probe.status_code == 200


def test_admin_answers_are_stored_without_their_secrets(client, container):
    created = register(client).json()["secret"]
    rotated = admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="k2").json()
    stored = stored_answers(container)
    assert len(stored) == 2
    assert all("H37140200002" in body for body in stored)
    assert not any(created in body or rotated["secret"] in body for body in stored)


def test_a_retry_after_the_secret_was_rotated_since_is_a_conflict(client):
    register(client)
    admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="rotate-1")
    admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="rotate-2")
    for key, path in (
        ("key-0001", "/admin/v1/hospitals"),
        ("rotate-1", "/admin/v1/hospitals/H37140200002/secret"),
    ):
        body = {"code": "H37140200002", "name": "德州市第二人民医院", "level": 2}
        stale = admin_post(client, path, body if path.endswith("hospitals") else None, key=key)
        assert stale.status_code == 409, stale.text
        assert stale.json()["error"]["code"] == "conflict"
        assert stale.json()["error"]["reason"] == "secret_rotated"
        assert "secret" not in stale.json()
    latest = admin_post(client, "/admin/v1/hospitals/H37140200002/secret", key="rotate-2")
    assert latest.status_code == 200


def test_a_registration_key_reused_for_another_hospital_is_refused(client, container):
    register(client)
    other = admin_post(
        client, "/admin/v1/hospitals", {"code": "H37140200003", "name": "x", "level": 1}
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    with container.uow() as uow:
        assert uow.session.get(Hospital, "H37140200003") is None


def test_a_refused_registration_is_replayed_as_the_same_refusal(client):
    register(client)
    duplicate = {"code": "H37140200002", "name": "x", "level": 1}
    first = admin_post(client, "/admin/v1/hospitals", duplicate, key="dup")
    again = admin_post(client, "/admin/v1/hospitals", duplicate, key="dup")
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
