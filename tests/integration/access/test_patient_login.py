"""Patients' login over HTTP: one-time codes (hashed, short-lived, single use, few tries), tokens."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from settlement.access.otp import OtpCode
from settlement.access.tokens import AccessToken
from tests.integration.access.conftest import (
    ADMIN_TOKEN,
    KNOWN_PHONE,
    KNOWN_PSN_NO,
    OTHER_PHONE,
    UNKNOWN_PHONE,
    login,
    signed,
)


def error(response) -> dict:
    return response.json()["error"]


def ask_code(client, phone: str = KNOWN_PHONE):
    return client.post("/v1/auth/otp", json={"phone": phone})


def redeem(client, code: str, phone: str = KNOWN_PHONE):
    return client.post("/v1/auth/token", json={"phone": phone, "code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_known_phone_logs_in_with_its_code_and_the_token_names_the_person(client, sender):
    sent = ask_code(client)
    assert sent.status_code == 200
    body = sent.json()
    assert body["sent"] is True
    assert body["expires_in"] == 300
    assert len(body["sandbox_code"]) == 6
    assert sender.sent == [(KNOWN_PSN_NO, KNOWN_PHONE, body["sandbox_code"])]

    token = redeem(client, body["sandbox_code"])
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer"
    assert token.json()["psn_no"] == KNOWN_PSN_NO
    assert token.json()["expires_in"] == 30 * 24 * 3600

    me = client.get(
        "/v1/_probe", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json() == {"psn_no": KNOWN_PSN_NO}


def test_an_unknown_phone_gets_the_same_answer_but_no_code_is_sent(client, sender):
    sent = ask_code(client, UNKNOWN_PHONE)
    assert sent.status_code == 200
    assert sent.json() == {"sent": True, "expires_in": 300}
    assert sender.sent == []
    attempt = redeem(client, "123456", UNKNOWN_PHONE)
    assert attempt.status_code == 401
    assert error(attempt)["code"] == "invalid_code"
    assert error(attempt)["attempts_left"] == 4  # as for a known phone: nothing to tell apart


@pytest.mark.parametrize("mode", ["production"])
def test_outside_sandbox_mode_the_code_is_never_in_the_answer(client, sender, mode):
    sent = ask_code(client)
    assert sent.json() == {"sent": True, "expires_in": 300}
    assert len(sender.sent) == 1


def test_five_wrong_codes_lock_the_code_even_against_the_right_one(client):
    code = ask_code(client).json()["sandbox_code"]
    lefts = []
    for _ in range(5):
        attempt = redeem(client, wrong(code))
        assert attempt.status_code == 401
        assert error(attempt)["code"] == "invalid_code"
        lefts.append(error(attempt)["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    locked = redeem(client, code)
    assert locked.status_code == 401
    assert error(locked)["code"] == "invalid_code"
    assert error(locked)["attempts_left"] == 0


def test_four_wrong_codes_still_leave_the_right_one_working(client):
    code = ask_code(client).json()["sandbox_code"]
    for _ in range(4):
        redeem(client, wrong(code))
    assert redeem(client, code).status_code == 200


def test_a_code_expires_after_five_minutes(client, clock):
    code = ask_code(client).json()["sandbox_code"]
    clock.advance(timedelta(seconds=300))
    late = redeem(client, code)
    assert late.status_code == 401
    assert error(late)["code"] == "invalid_code"


def test_a_code_just_before_expiry_still_works(client, clock):
    code = ask_code(client).json()["sandbox_code"]
    clock.advance(timedelta(seconds=299))
    assert redeem(client, code).status_code == 200


def test_a_used_code_cannot_log_in_twice(client):
    code = ask_code(client).json()["sandbox_code"]
    assert redeem(client, code).status_code == 200
    again = redeem(client, code)
    assert again.status_code == 401
    assert error(again)["code"] == "invalid_code"


def test_a_new_code_replaces_the_previous_one(client, clock):
    first = ask_code(client).json()["sandbox_code"]
    clock.advance(timedelta(seconds=61))
    second = ask_code(client).json()["sandbox_code"]
    if first != second:
        assert redeem(client, first).status_code == 401
    assert redeem(client, second).status_code == 200


def test_a_code_for_one_phone_does_not_log_in_another(client):
    code = ask_code(client).json()["sandbox_code"]
    attempt = redeem(client, code, OTHER_PHONE)
    assert attempt.status_code == 401


def test_a_second_code_within_a_minute_is_rate_limited(client, clock, sender):
    assert ask_code(client).status_code == 200
    clock.advance(timedelta(seconds=20))
    limited = ask_code(client)
    assert limited.status_code == 429
    assert error(limited)["code"] == "rate_limited"
    assert error(limited)["retry_after"] == 40
    assert limited.headers["Retry-After"] == "40"
    assert len(sender.sent) == 1
    clock.advance(timedelta(seconds=40))
    assert ask_code(client).status_code == 200


def test_more_than_five_codes_an_hour_are_rate_limited(client, clock):
    for _ in range(5):
        assert ask_code(client).status_code == 200
        clock.advance(timedelta(minutes=10))
    # 50 minutes after the first code: the sixth waits until the first is an hour old.
    limited = ask_code(client)
    assert limited.status_code == 429
    assert error(limited)["retry_after"] == 600
    clock.advance(timedelta(minutes=10))
    assert ask_code(client).status_code == 200


def test_the_rate_limit_is_per_phone(client):
    assert ask_code(client, KNOWN_PHONE).status_code == 200
    assert ask_code(client, OTHER_PHONE).status_code == 200


def test_unknown_phones_are_rate_limited_like_known_ones(client):
    assert ask_code(client, UNKNOWN_PHONE).status_code == 200
    assert ask_code(client, UNKNOWN_PHONE).status_code == 429


def test_neither_the_code_nor_the_phone_is_stored(client, container):
    code = ask_code(client).json()["sandbox_code"]
    with container.uow() as uow:
        row = uow.session.scalars(select(OtpCode)).one()
        values = [str(getattr(row, c.key)) for c in OtpCode.__table__.columns]
        assert row.psn_no == KNOWN_PSN_NO
    assert not any(code in value or KNOWN_PHONE in value for value in values)


def test_the_token_is_stored_only_as_its_hash(client, container):
    token = login(client)
    with container.uow() as uow:
        row = uow.session.scalars(select(AccessToken)).one()
        assert row.token_hash != token
        assert token not in row.token_hash
        assert row.psn_no == KNOWN_PSN_NO


def test_the_phone_never_appears_in_the_logs(client, caplog):
    with caplog.at_level(logging.DEBUG):
        login(client)
        ask_code(client, UNKNOWN_PHONE)
    assert KNOWN_PHONE not in caplog.text
    assert UNKNOWN_PHONE not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "23800138000"},
        {"phone": "1380013800"},
        {"phone": 13800138000},
        {"phone": "13800138000", "extra": 1},
        {},
    ],
)
def test_a_malformed_code_request_is_a_validation_error(client, body, sender):
    response = client.post("/v1/auth/otp", json=body)
    assert response.status_code == 422
    assert error(response)["code"] == "validation_error"
    assert sender.sent == []


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", 123456])
def test_a_malformed_code_is_a_validation_error(client, code):
    response = client.post("/v1/auth/token", json={"phone": KNOWN_PHONE, "code": code})
    assert response.status_code == 422


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer", f"Bearer {ADMIN_TOKEN}"],
)
def test_a_patient_call_without_a_live_token_is_unauthenticated(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/v1/_probe", headers=headers)
    assert response.status_code == 401
    assert error(response)["code"] == "unauthenticated"


def test_a_token_expires_after_thirty_days(client, clock):
    token = login(client)
    clock.advance(timedelta(days=30))
    response = client.get("/v1/_probe", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_his_signature_headers_on_a_patient_call_are_refused(client, hospital):
    response = signed(client, "GET", "/v1/_probe", code=hospital.code, secret=hospital.secret)
    assert response.status_code == 401
    assert error(response)["code"] == "unauthenticated"
