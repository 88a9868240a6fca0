"""Signed HIS requests over HTTP: only a fresh, untampered request signed with the secret passes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from settlement.access.hospitals import rotate_secret
from settlement.access.nonces import RequestNonce, purge_expired_nonces, record_nonce
from settlement.access.signing import new_nonce
from settlement.foundation.db import make_session_factory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from tests.integration.access.conftest import (
    ADMIN_TOKEN,
    FROZEN_AT,
    SECRET_KEY,
    login,
    signed,
)
from tests.races import run_together

NOW = int(FROZEN_AT.timestamp())


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_a_correctly_signed_request_reaches_the_route_as_its_hospital(client, hospital):
    response = signed(
        client,
        "POST",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        body={"ipt_otp_no": "MZ0001", "note": "舒心"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "hospital": hospital.code,
        "level": 3,
        "body": {"ipt_otp_no": "MZ0001", "note": "舒心"},
    }


def test_a_signed_get_with_a_query_string_passes(client, hospital):
    response = signed(
        client, "GET", "/his/v1/_probe?q=2026-11-23", code=hospital.code, secret=hospital.secret
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"hospital": hospital.code, "q": "2026-11-23"}


@pytest.mark.parametrize(
    "missing",
    ["X-Shuxin-Hospital", "X-Shuxin-Timestamp", "X-Shuxin-Nonce", "X-Shuxin-Signature"],
)
def test_a_request_missing_any_signature_header_is_unauthenticated(client, hospital, missing):
    from settlement.access.signing import sign_request

    headers = sign_request(
        hospital.secret, "GET", "/his/v1/_probe", b"", NOW, new_nonce(), hospital_code=hospital.code
    )
    del headers[missing]
    response = client.get("/his/v1/_probe", headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_an_unknown_hospital_is_refused(client, hospital):
    response = signed(client, "GET", "/his/v1/_probe", code="H99999999999", secret=hospital.secret)
    assert response.status_code == 401
    assert error_code(response) == "unknown_hospital"


def test_a_signature_made_with_another_secret_is_refused(client, hospital):
    response = signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret="0" * 64)
    assert response.status_code == 401
    assert error_code(response) == "bad_signature"


def test_a_signature_that_is_not_lowercase_hex_is_refused(client, hospital):
    from settlement.access.signing import sign_request

    headers = sign_request(
        hospital.secret, "GET", "/his/v1/_probe", b"", NOW, new_nonce(), hospital_code=hospital.code
    )
    headers["X-Shuxin-Signature"] = headers["X-Shuxin-Signature"].upper()
    response = client.get("/his/v1/_probe", headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "bad_signature"


def test_a_tampered_body_is_refused_and_never_reaches_the_route(client, hospital):
    response = signed(
        client,
        "POST",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        body={"amount": "10.00"},
        sent_body=b'{"amount": "1000.00"}',
    )
    assert response.status_code == 401
    assert error_code(response) == "bad_signature"


def test_a_tampered_query_is_refused(client, hospital):
    response = signed(
        client,
        "GET",
        "/his/v1/_probe?q=mine",
        code=hospital.code,
        secret=hospital.secret,
        sent_path="/his/v1/_probe?q=theirs",
    )
    assert response.status_code == 401
    assert error_code(response) == "bad_signature"


def test_a_signature_for_another_path_is_refused(client, hospital):
    response = signed(
        client,
        "GET",
        "/his/v1/other",
        code=hospital.code,
        secret=hospital.secret,
        sent_path="/his/v1/_probe",
    )
    assert response.status_code == 401
    assert error_code(response) == "bad_signature"


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_a_timestamp_more_than_300_seconds_off_is_stale(client, hospital, offset):
    response = signed(
        client,
        "GET",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        timestamp=NOW + offset,
    )
    assert response.status_code == 401
    assert error_code(response) == "stale_timestamp"
    assert response.json()["error"]["server_time"] == NOW


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_timestamp_exactly_300_seconds_off_is_still_accepted(client, hospital, offset):
    response = signed(
        client,
        "GET",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        timestamp=NOW + offset,
    )
    assert response.status_code == 200, response.text


def test_a_request_signed_now_is_stale_once_the_clock_moves_on(client, hospital, clock):
    clock.advance(timedelta(seconds=301))
    response = signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret)
    assert error_code(response) == "stale_timestamp"


def test_a_replayed_request_is_refused_the_second_time(client, hospital):
    nonce = new_nonce()
    first = signed(
        client,
        "POST",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        body={"n": 1},
        nonce=nonce,
    )
    replay = signed(
        client,
        "POST",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        body={"n": 1},
        nonce=nonce,
    )
    assert first.status_code == 200
    assert replay.status_code == 401
    assert error_code(replay) == "nonce_reused"


def test_a_replay_is_refused_once_the_hospital_is_known_to_the_process(client, hospital):
    warm_up = signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret)
    assert warm_up.status_code == 200  # the hospital's secret is now known, not read per request
    nonce = new_nonce()
    first = signed(
        client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret, nonce=nonce
    )
    replay = signed(
        client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret, nonce=nonce
    )
    assert first.status_code == 200
    assert error_code(replay) == "nonce_reused"


def test_a_secret_rotated_by_another_process_stops_verifying_at_once(client, hospital, container):
    assert (
        signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret)
    ).status_code == 200
    # Rotated through another unit of work, as another worker process would: this process's
    # knowledge of the hospital is not told.
    with UnitOfWorkFactory(make_session_factory(container.engine))() as uow:
        new_secret = rotate_secret(
            uow.session, code=hospital.code, secret_key=SECRET_KEY, clock=container.clock
        )
        uow.commit()
    nonce = new_nonce()
    old = signed(
        client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret, nonce=nonce
    )
    assert error_code(old) == "bad_signature"
    assert (
        signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret=new_secret)
    ).status_code == 200
    # The new secret is known now, and the old one still refused.
    again = signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret)
    assert error_code(again) == "bad_signature"


def test_a_known_hospitals_request_is_authenticated_in_one_statement(client, hospital, engine):
    assert (
        signed(client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret)
    ).status_code == 200
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = signed(
            client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    # PostgreSQL: the nonce and the secret's version in one statement, outside a transaction
    # block; SQLite: the insert and the read (its BEGIN IMMEDIATE is a statement too).
    expected = 1 if engine.dialect.name == "postgresql" else 3
    assert len(statements) == expected, statements


def test_a_refused_request_does_not_burn_its_nonce(client, hospital):
    nonce = new_nonce()
    forged = signed(
        client, "GET", "/his/v1/_probe", code=hospital.code, secret="f" * 64, nonce=nonce
    )
    genuine = signed(
        client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret, nonce=nonce
    )
    assert error_code(forged) == "bad_signature"
    assert genuine.status_code == 200


@pytest.mark.parametrize("nonce", ["short", "x" * 65, "has space in it!!"])
def test_a_malformed_nonce_is_unauthenticated(client, hospital, nonce):
    response = signed(
        client, "GET", "/his/v1/_probe", code=hospital.code, secret=hospital.secret, nonce=nonce
    )
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_a_timestamp_that_is_not_unix_seconds_is_unauthenticated(client, hospital):
    response = signed(
        client,
        "GET",
        "/his/v1/_probe",
        code=hospital.code,
        secret=hospital.secret,
        timestamp="2026-11-23T09:30:00+08:00",  # type: ignore[arg-type]
    )
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_a_patient_token_on_an_his_call_is_refused(client, hospital):
    token = login(client)
    response = client.get("/his/v1/_probe", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_the_admin_token_on_an_his_call_is_refused(client, hospital):
    response = client.get("/his/v1/_probe", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_the_same_nonce_at_two_hospitals_is_two_different_requests(uow_factory):
    with uow_factory() as uow:
        assert record_nonce(uow.session, hospital_code="A", nonce="n" * 16, now=FROZEN_AT)
        assert record_nonce(uow.session, hospital_code="B", nonce="n" * 16, now=FROZEN_AT)
        assert not record_nonce(uow.session, hospital_code="A", nonce="n" * 16, now=FROZEN_AT)
        uow.commit()


def test_purging_forgets_only_nonces_older_than_ten_minutes(uow_factory):
    with uow_factory() as uow:
        for age, nonce in ((601, "old-nonce-000000"), (599, "recent-nonce-000")):
            record_nonce(
                uow.session,
                hospital_code="A",
                nonce=nonce,
                now=FROZEN_AT - timedelta(seconds=age),
            )
        uow.commit()
    with uow_factory() as uow:
        assert purge_expired_nonces(uow.session, FROZEN_AT) == 1
        uow.commit()
    with uow_factory() as uow:
        left = uow.session.scalars(select(RequestNonce.nonce)).all()
    assert left == ["recent-nonce-000"]


@pytest.mark.postgres
def test_two_requests_racing_with_one_nonce_let_exactly_one_through(postgres_only, engine):
    from settlement.foundation.db import make_session_factory

    factory = UnitOfWorkFactory(make_session_factory(engine))
    racers = 8
    # Started together, the racers race from a start line of their own, past BEGIN.
    start_line = threading.Barrier(racers)

    def race() -> bool:
        with factory() as uow:
            uow.session.execute(select(1))  # open the transaction before the start line
            start_line.wait(timeout=10)
            won = record_nonce(
                uow.session, hospital_code="H1", nonce="race-nonce-0000001", now=FROZEN_AT
            )
            uow.commit()
        return won

    outcomes = run_together([race] * racers, timeout=30)
    assert sorted(outcomes) == [False] * (racers - 1) + [True]
    with factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(RequestNonce)) == 1


@pytest.mark.postgres
def test_two_identical_signed_requests_at_once_over_http_let_exactly_one_through(
    postgres_only, client, hospital
):
    from settlement.access.signing import sign_request

    headers = sign_request(
        hospital.secret, "GET", "/his/v1/_probe", b"", NOW, new_nonce(), hospital_code=hospital.code
    )

    def send() -> int:
        return int(client.get("/his/v1/_probe", headers=headers).status_code)

    statuses = run_together([send] * 4, timeout=30)
    assert sorted(statuses) == [200, 401, 401, 401]
