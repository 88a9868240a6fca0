"""What a fuzzer and an attacker sent (issue 17): each is a 4xx with the envelope, nothing written.

Times are the contract's ISO 8601 with an offset, inside the window the policy allows; money is
plain ASCII digits; consent is the JSON ``true``; a ``date`` is a plain day; names are not blank;
a JSON key is not given twice; bodies nested past the parser and NUL bytes in paths are refused.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from settlement.access.hospitals import get_hospital
from settlement.billing.tables import FeeLine, Visit
from settlement.foundation.errors import ServiceError
from settlement.foundation.scheme import load_scheme
from settlement.usecases.charging import visits
from tests.harness import SEEDS, build_service
from tests.integration.api.test_his_bad_input import fee_body, visit_body, with_change


@pytest.fixture
def world(engine):
    service = build_service(engine)
    his = service.add_hospital("H2", level=2)
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    return service, his, person, mdtrt_id


def counts(service) -> tuple[int, int]:
    with service.container.uow() as uow:
        return (
            uow.session.scalar(select(func.count()).select_from(Visit)) or 0,
            uow.session.scalar(select(func.count()).select_from(FeeLine)) or 0,
        )


def assert_refused(response, path: str, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert path in [field["path"] for field in error["fields"]], error
    return error


# -- times (item 1) --------------------------------------------------------------------------------

NOT_THE_CONTRACTS_TIME = [
    "0",
    "1700000000",
    1700000000,
    "2026-11-23",
    "2026-11-23 09:30:00+08:00",
    "2026-11-23T09:30:00",
    "20261123T093000+0800",
    "0001-01-01T00:00:00+08:00",  # no UTC time: it overflowed into a 500
    "9999-12-31T23:59:59-08:00",
]


@pytest.mark.parametrize("value", NOT_THE_CONTRACTS_TIME, ids=repr)
def test_a_begntime_that_is_not_an_iso_time_with_offset_is_422(world, value):
    service, his, person, _ = world
    before = counts(service)
    response = his.post("/his/v1/visits", with_change(visit_body(person.psn_no), "begntime", value))
    assert_refused(response, "begntime")
    assert counts(service) == before


@pytest.mark.parametrize("value", NOT_THE_CONTRACTS_TIME, ids=repr)
def test_a_fee_ocur_time_that_is_not_an_iso_time_with_offset_is_422(world, value):
    service, his, _, mdtrt_id = world
    before = counts(service)
    body = with_change(fee_body(), "fees.0.fee_ocur_time", value)
    response = his.post(f"/his/v1/visits/{mdtrt_id}/fees", body)
    assert_refused(response, "fees.0.fee_ocur_time")
    assert counts(service) == before


@pytest.mark.parametrize(
    "begntime", ["1970-01-01T00:00:00+08:00", "2023-11-15T06:13:20+08:00", "1999-12-31T23:59:59Z"]
)
def test_a_visit_on_a_day_without_an_insurance_policy_is_refused(world, begntime):
    # seeds/policies start on 2025-01-01: such a visit could never be priced, closed or swept.
    service, his, person, _ = world
    before = counts(service)
    response = his.open_visit(person.psn_no, begntime=begntime)
    error = assert_refused(response, "begntime")
    assert "no insurance policy is in force" in error["message"]
    assert counts(service) == before


def test_a_begntime_more_than_the_policys_hours_ahead_is_refused_and_just_within_is_taken(world):
    service, his, person, _ = world
    ahead = service.container.scheme.max_ahead
    assert ahead == timedelta(hours=24)  # seeds/scheme.toml [visits] max_ahead_hours
    too_far = (service.clock.now() + ahead + timedelta(minutes=1)).isoformat()
    error = assert_refused(his.open_visit(person.psn_no, begntime=too_far), "begntime")
    assert "24 h after the service's time" in error["message"]
    within = (service.clock.now() + ahead - timedelta(minutes=1)).isoformat()
    assert his.open_visit(person.psn_no, begntime=within).status_code == 201


def test_a_fee_time_days_ahead_is_refused_with_its_line_and_nothing_held(world):
    service, his, _, mdtrt_id = world
    body = fee_body()
    body["fees"].append({**body["fees"][0], "feedetl_sn": "2"})
    body["fees"][1]["fee_ocur_time"] = (service.clock.now() + timedelta(days=3)).isoformat()
    before = counts(service)
    response = his.post(f"/his/v1/visits/{mdtrt_id}/fees", body)
    assert_refused(response, "fees.1.fee_ocur_time")
    assert counts(service) == before


def test_the_window_ahead_is_the_scheme_files_setting(tmp_path: Path):
    text = (SEEDS / "scheme.toml").read_text(encoding="utf-8")
    changed = text.replace("max_ahead_hours = 24", "max_ahead_hours = 2")
    assert changed != text
    (tmp_path / "scheme.toml").write_text(changed, encoding="utf-8")
    assert load_scheme(tmp_path / "scheme.toml").max_ahead == timedelta(hours=2)


def test_the_use_case_itself_never_opens_a_visit_without_a_policy(world):
    # Not only the API: whoever calls open_visit gets the refusal.
    service, his, person, _ = world
    request = visits.VisitRequest(
        ipt_otp_no="MZ-1970",
        psn_no=person.psn_no,
        med_type="11",
        dept_code="A03",
        dept_name="内科",
        dr_name="王医生",
        begntime=service.clock.now().replace(year=1970),
    )
    with service.container.uow() as uow:
        hospital = get_hospital(uow.session, his.code)
        with pytest.raises(ServiceError) as refused:
            visits.open_visit(uow, container=service.container, hospital=hospital, request=request)
    assert refused.value.code == "validation_error"


# -- money, consent, dates, names, duplicate keys (item 8) ---------------------------------------

NOT_PLAIN_MONEY = ["１０.００", "1_0.00", "1e1", "+10.00", " 10.00", "10.00\n", "10.", "0x0A"]


@pytest.mark.parametrize("field", ["pric", "cnt", "det_item_fee_sumamt"])
@pytest.mark.parametrize("value", NOT_PLAIN_MONEY, ids=repr)
def test_money_that_is_not_plain_ascii_digits_is_422(world, field, value):
    service, his, _, mdtrt_id = world
    before = counts(service)
    body = with_change(fee_body(), f"fees.0.{field}", value)
    assert_refused(his.post(f"/his/v1/visits/{mdtrt_id}/fees", body), f"fees.0.{field}")
    assert counts(service) == before


def test_a_json_number_in_exponent_notation_is_refused(world):
    _, his, _, mdtrt_id = world
    raw = (
        b'{"chrg_bchno":"CB9","fees":[{"feedetl_sn":"9","med_list_codg":"001102000010000",'
        b'"item_name":"x","pric":1e1,"cnt":1,"det_item_fee_sumamt":10.00,'
        b'"fee_ocur_time":"2026-11-23T09:35:00+08:00"}]}'
    )
    response = his.request("POST", f"/his/v1/visits/{mdtrt_id}/fees", raw=raw)
    error = assert_refused(response, "body")
    assert "exponent" in error["message"]


@pytest.mark.parametrize("accept", [1, "true", "yes", 1.0])
def test_consent_is_the_json_true_and_nothing_else(engine, accept):
    service = build_service(engine)
    person = service.add_person()
    headers = service.login(person)
    body = {
        "psn_no": person.psn_no,
        "certno": person.certno,
        "psn_name": person.psn_name,
        "version": 1,
        "accept": accept,
        "autopay": "off",
    }
    response = service.client.post("/v1/agreements", json=body, headers=headers)
    assert_refused(response, "accept")
    assert service.client.get("/v1/me/credit", headers=headers).json()["status"] == "not_signed"


@pytest.mark.parametrize(
    "day", ["2026-12-03T00:00:00", "20261203", "9999-12-31", "0001-01-01", "2026-W49-4", "2026-1-3"]
)
def test_a_date_query_is_a_plain_calendar_day(world, day):
    service, his, _, _ = world
    assert_refused(his.get(f"/his/v1/reconciliation?date={day}"), "query.date")
    report = service.client.get(f"/admin/v1/reports/daily?date={day}", headers=service.admin)
    assert_refused(report, "query.date")


@pytest.mark.parametrize(
    ("call", "path"),
    [
        ("visit", "ipt_otp_no"),
        ("visit", "dept_code"),
        ("visit", "dept_name"),
        ("visit", "dr_name"),
        ("fees", "chrg_bchno"),
        ("fees", "fees.0.item_name"),
    ],
)
@pytest.mark.parametrize("blank", [" ", "\u3000", "   "], ids=["space", "ideographic", "spaces"])
def test_identifiers_and_names_are_not_blank(world, call, path, blank):
    service, his, person, mdtrt_id = world
    before = counts(service)
    if call == "visit":
        response = his.post("/his/v1/visits", with_change(visit_body(person.psn_no), path, blank))
    else:
        response = his.post(f"/his/v1/visits/{mdtrt_id}/fees", with_change(fee_body(), path, blank))
    assert_refused(response, path)
    assert counts(service) == before


def test_a_key_given_twice_is_refused_not_last_one_wins(world):
    service, his, person, _ = world
    before = counts(service)
    raw = (
        b'{"ipt_otp_no":"MZ-TWICE","psn_no":"000000","psn_no":"' + person.psn_no.encode() + b'",'
        b'"med_type":"11","dept_code":"A03","dept_name":"d","dr_name":"r",'
        b'"begntime":"2026-11-23T09:30:00+08:00"}'
    )
    error = assert_refused(his.request("POST", "/his/v1/visits", raw=raw), "body")
    assert "'psn_no' appears twice" in error["message"]
    assert counts(service) == before


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/auth/otp", b'{"phone":"13800000000","phone":"13900000000"}'),
        ("/v1/auth/token", b'{"phone":"13800000000","code":"000000","code":"111111"}'),
    ],
)
def test_duplicate_keys_are_refused_on_every_route_not_only_the_his(engine, path, raw):
    service = build_service(engine)
    response = service.client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert_refused(response, "body")


def test_every_route_parses_json_exactly_and_strictly(engine):
    from fastapi import routing
    from fastapi.routing import APIRoute

    from api.exact_json import ExactJsonRoute

    app = build_service(engine).client.app
    contexts = getattr(routing, "iter_route_contexts", None)  # included routers kept apart
    routes = [c.original_route for c in contexts(app.routes)] if contexts else app.routes
    # The API's routes; the pages under /app/ take forms, not JSON.
    api_routes = [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]
    assert len(api_routes) > 40  # the check sees the routes
    loose = sorted(route.path for route in api_routes if not isinstance(route, ExactJsonRoute))
    assert loose == []


# -- bodies nested past the parser, NUL in paths, dates out of the calendar (item 4) --------------

DEEP = b"[" * 100_000


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_a_deeply_nested_body_on_a_signed_call_is_422_whatever_its_content_type(
    world, content_type
):
    service, his, _, _ = world
    before = counts(service)
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
    response = his.request("POST", "/his/v1/visits", raw=DEEP, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert counts(service) == before


def test_a_deeply_nested_wallet_callback_is_refused_not_a_500(world):
    from settlement.adapters.wallets import SIGNATURE_HEADER, sign_callback

    service, _, _, _ = world
    unsigned = service.client.post("/v1/wallets/wechat/notify", content=DEEP)
    assert unsigned.status_code == 401, unsigned.text
    signature = sign_callback(service.container.settings.wallet_secret, DEEP)
    signed = service.client.post(
        "/v1/wallets/wechat/notify", content=DEEP, headers={SIGNATURE_HEADER: signature}
    )
    assert signed.status_code == 400, signed.text
    assert signed.json()["error"]["code"] == "malformed"


@pytest.mark.parametrize(
    "path",
    [
        "/his/v1/visits/%00",
        "/his/v1/visits/MD%00X/fees/1",
        "/his/v1/patients/%00/credit",
        "/his/v1/reconciliation?date=2026-11-23%00",
    ],
)
def test_a_nul_byte_in_a_signed_path_or_query_is_422(world, path):
    _, his, _, _ = world
    response = his.get(path) if "fees" not in path else his.delete(path)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "path", ["/v1/bills/%00", "/v1/payments/%00", "/v1/family/members/%00/bills"]
)
def test_a_nul_byte_in_a_patient_path_is_422(world, path):
    service, _, person, _ = world
    response = service.client.get(path, headers=service.login(person))
    assert response.status_code == 422, response.text


def test_a_defect_is_answered_500_with_the_envelope_and_logged_once(world, monkeypatch, caplog):
    _, his, _, mdtrt_id = world

    def broken(*_, **__):
        raise RuntimeError("a defect")

    monkeypatch.setattr(visits, "get_visit", broken)
    with caplog.at_level("ERROR"):
        response = his.get(f"/his/v1/visits/{mdtrt_id}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "connection" not in {name.lower() for name in response.headers}
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.parametrize("seq", [10**30, -1, 2**31])
def test_a_callback_seq_beyond_the_column_is_refused_not_a_500(world, seq):
    # Found by the long hostile run: an unsigned callback's seq of 10**30 overflowed the log row.
    from settlement.adapters.wallets import SIGNATURE_HEADER, sign_callback

    service, _, _, _ = world
    body = (
        b'{"order_id":"PY1","provider_txn_id":"T1","amount":"1.00","status":"SUCCESS","seq":'
        + str(seq).encode()
        + b"}"
    )
    unsigned = service.client.post("/v1/wallets/wechat/notify", content=body)
    assert unsigned.status_code == 401, unsigned.text
    signature = sign_callback(service.container.settings.wallet_secret, body)
    signed = service.client.post(
        "/v1/wallets/wechat/notify", content=body, headers={SIGNATURE_HEADER: signature}
    )
    assert signed.status_code == 400, signed.text
    assert signed.json()["error"]["code"] == "malformed"


def test_a_nul_character_in_a_json_string_is_422_on_every_route(world):
    # Found by the long hostile run on PostgreSQL, which cannot store NUL in text: a 500.
    service, his, _, _ = world
    body = {"invitation_id": "a\u0000b", "staff_id": "S0042", "certno_checked": True}
    assert_refused(his.post("/his/v1/family/confirmations", body), "invitation_id")
    sent = service.client.post("/v1/auth/otp", json={"phone": "1380013800\u0000"})
    assert_refused(sent, "phone")


@pytest.mark.parametrize("field", ["order_id", "provider_txn_id", "amount", "status"])
def test_a_nul_character_in_a_wallet_callback_is_refused_not_a_500(world, field):
    import json

    from settlement.adapters.wallets import SIGNATURE_HEADER, sign_callback

    service, _, _, _ = world
    callback = {
        "order_id": "PY1",
        "provider_txn_id": "T1",
        "amount": "1.00",
        "status": "SUCCESS",
        "seq": 1,
    }
    body = json.dumps({**callback, field: "a\u0000b"}).encode()
    assert service.client.post("/v1/wallets/wechat/notify", content=body).status_code == 401
    signature = sign_callback(service.container.settings.wallet_secret, body)
    signed = service.client.post(
        "/v1/wallets/wechat/notify", content=body, headers={SIGNATURE_HEADER: signature}
    )
    assert signed.status_code == 400, signed.text
