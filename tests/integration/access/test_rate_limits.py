"""Rate limits on what an unauthenticated caller can make the service do (issue 17, item 2).

One address sent 60 code requests for 60 phones and 150 guesses in 3.3 s, with no 429. Now code
requests and login attempts are limited per client address and for everyone together, wrong
codes lock a phone across its codes, and wallet callbacks are limited per address; every
refusal is 429 rate_limited with Retry-After. Limits are set small here through the settings.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.harness import build_service


def client_at(service, address: str) -> TestClient:
    return TestClient(service.client.app, client=(address, 40000), raise_server_exceptions=False)


def assert_rate_limited(response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    wait = int(response.headers["Retry-After"])
    assert wait == error["retry_after"]
    assert wait >= 1
    return wait


def people(service, count: int):
    return [service.add_person() for _ in range(count)]


def test_code_requests_from_one_address_are_limited_for_any_phones(engine):
    service = build_service(engine, rate_limit_otp_per_client="3/minute;10/hour")
    attacker = client_at(service, "198.51.100.7")
    phones = [person.phone for person in people(service, 5)]
    answers = [attacker.post("/v1/auth/otp", json={"phone": phone}) for phone in phones]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    wait = assert_rate_limited(answers[3])
    assert wait <= 60
    # Another address is not held up by this one.
    assert (
        client_at(service, "203.0.113.9")
        .post("/v1/auth/otp", json={"phone": phones[4]})
        .status_code
        == 200
    )
    service.advance(seconds=wait)
    assert attacker.post("/v1/auth/otp", json={"phone": phones[3]}).status_code == 200


def test_refused_code_requests_send_nothing(engine):
    from sqlalchemy import func, select

    from settlement.messages.tables import OutboxMessage

    service = build_service(engine, rate_limit_otp_per_client="2/minute")
    attacker = client_at(service, "198.51.100.7")
    for person in people(service, 6):
        attacker.post("/v1/auth/otp", json={"phone": person.phone})
    with service.container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_code_requests_from_everyone_together_are_limited(engine):
    service = build_service(engine, rate_limit_otp_overall="4/minute")
    phones = [person.phone for person in people(service, 5)]
    answers = [
        client_at(service, f"198.51.100.{n}").post("/v1/auth/otp", json={"phone": phone})
        for n, phone in enumerate(phones)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert_rate_limited(answers[-1])


def test_login_attempts_from_one_address_are_limited(engine):
    service = build_service(engine, rate_limit_token_per_client="5/minute")
    attacker = client_at(service, "198.51.100.7")
    phones = [person.phone for person in people(service, 7)]
    answers = [
        attacker.post("/v1/auth/token", json={"phone": phone, "code": "000000"}) for phone in phones
    ]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert_rate_limited(answers[-1])


def test_login_attempts_from_everyone_together_are_limited(engine):
    service = build_service(engine, rate_limit_token_overall="3/minute")
    person = service.add_person()
    answers = [
        client_at(service, f"198.51.100.{n}").post(
            "/v1/auth/token", json={"phone": person.phone, "code": f"{n:06d}"}
        )
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]


def test_wrong_codes_across_codes_lock_the_phone_even_for_its_right_code(engine):
    service = build_service(engine, login_failures_per_phone="6/hour")
    person, other = people(service, 2)
    client = service.client
    for round_ in range(2):  # two codes, three wrong guesses each: 6 wrong codes in all
        code = client.post("/v1/auth/otp", json={"phone": person.phone}).json()["sandbox_code"]
        for _ in range(3):
            wrong = f"{(int(code) + 1) % 1_000_000:06d}"
            assert (
                client.post(
                    "/v1/auth/token", json={"phone": person.phone, "code": wrong}
                ).status_code
                == 401
            )
        if round_ == 0:
            service.advance(seconds=61)  # the phone's own one-code-a-minute limit
    right = client.post("/v1/auth/token", json={"phone": person.phone, "code": code})
    wait = assert_rate_limited(right)
    assert "locked" in right.json()["error"]["message"]
    assert wait <= 3600
    service.advance(seconds=61)
    # No new code for a locked phone either (no SMS sent for nothing).
    assert_rate_limited(client.post("/v1/auth/otp", json={"phone": person.phone}))
    # Another phone is not locked.
    other_code = client.post("/v1/auth/otp", json={"phone": other.phone}).json()["sandbox_code"]
    assert (
        client.post("/v1/auth/token", json={"phone": other.phone, "code": other_code}).status_code
        == 200
    )
    # When the window is over, the phone logs in again.
    service.advance(seconds=wait)
    fresh = client.post("/v1/auth/otp", json={"phone": person.phone}).json()["sandbox_code"]
    assert (
        client.post("/v1/auth/token", json={"phone": person.phone, "code": fresh}).status_code
        == 200
    )


def test_wallet_callbacks_from_one_address_are_limited(engine):
    service = build_service(engine, rate_limit_callbacks_per_client="3/minute")
    sender = client_at(service, "198.51.100.7")
    answers = [sender.post("/v1/wallets/wechat/notify", content=b"{}") for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert_rate_limited(answers[-1])


def test_two_services_over_one_database_count_together(engine):
    # Two API processes share the counters (they are rows, not memory).
    first = build_service(engine, rate_limit_otp_per_client="3/hour")
    second = build_service(engine, rate_limit_otp_per_client="3/hour")
    phones = [person.phone for person in people(first, 4)]
    answers = [
        client_at(service, "198.51.100.7").post("/v1/auth/otp", json={"phone": phone})
        for service, phone in zip([first, second, first, second], phones, strict=True)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]


def test_the_default_limits_are_the_documented_ones():
    from settlement.foundation.config import Settings

    settings = Settings()
    assert settings.rate_limit_otp_per_client == "5/minute;20/hour"
    assert settings.rate_limit_token_per_client == "10/minute;60/hour"
    assert settings.login_failures_per_phone == "10/hour"


def test_a_malformed_limit_refuses_to_start():
    import pytest
    from pydantic import ValidationError

    from settlement.foundation.config import Settings

    with pytest.raises(ValidationError, match="rate_limit_otp_overall"):
        Settings(rate_limit_otp_overall="lots")
