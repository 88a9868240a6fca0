"""Bad input on every HIS body: a 422 naming the field, and nothing written."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from settlement.billing.tables import FeeLine, Visit
from settlement.foundation.idempotency import IdempotencyRecord
from settlement.ledger.tables import LedgerTransfer
from tests.harness import build_service


@pytest.fixture
def world(engine):
    service = build_service(engine)
    his = service.add_hospital("H2", level=2)
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    return service, his, person, mdtrt_id


def counts(service) -> tuple[int, int, int]:
    with service.container.uow() as uow:
        return (
            uow.session.scalar(select(func.count()).select_from(Visit)) or 0,
            uow.session.scalar(select(func.count()).select_from(FeeLine)) or 0,
            uow.session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0,
        )


def visit_body(psn_no: str) -> dict:
    return {
        "ipt_otp_no": "MZ-BAD",
        "psn_no": psn_no,
        "med_type": "11",
        "dept_code": "A03",
        "dept_name": "内科",
        "dr_name": "王医生",
        "begntime": "2026-11-23T09:30:00+08:00",
    }


def fee_body() -> dict:
    return {
        "chrg_bchno": "CB1",
        "fees": [
            {
                "feedetl_sn": "1",
                "med_list_codg": "001102000010000",
                "item_name": "普通门诊诊查费",
                "pric": "10.00",
                "cnt": "1",
                "det_item_fee_sumamt": "10.00",
                "fee_ocur_time": "2026-11-23T09:35:00+08:00",
            }
        ],
    }


def with_change(body: dict, path: str, value) -> dict:
    changed = copy.deepcopy(body)
    target = changed
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return changed


DELETE = object()

VISIT_CASES = [
    ("unknown field", "surprise", 1, "surprise"),
    ("missing field", "dr_name", DELETE, "dr_name"),
    ("object for a string", "dept_name", {"a": 1}, "dept_name"),
    ("list for a string", "ipt_otp_no", ["x"], "ipt_otp_no"),
    ("number for a string", "psn_no", 371400, "psn_no"),
    ("malformed psn_no", "psn_no", "37-14", "psn_no"),
    ("unknown med_type", "med_type", "99", "med_type"),
    ("over-long string", "dept_name", "科" * 101, "dept_name"),
    ("empty string", "dr_name", "", "dr_name"),
    ("control character", "dr_name", "王\u0000医生", "dr_name"),
    ("time without offset", "begntime", "2026-11-23T09:30:00", "begntime"),
    ("malformed time", "begntime", "23/11/2026 09:30", "begntime"),
    ("time as a number", "begntime", 1795400000, "begntime"),
]


@pytest.mark.parametrize(
    ("case", "path", "value", "field"), VISIT_CASES, ids=[c[0] for c in VISIT_CASES]
)
def test_a_bad_visit_body_is_422_with_its_field_and_writes_nothing(world, case, path, value, field):
    service, his, person, _ = world
    before = counts(service)
    body = with_change(visit_body(person.psn_no), path, value)
    response = his.post("/his/v1/visits", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [f["path"] for f in error["fields"]]
    assert error["message"]
    assert counts(service) == before


FEE_CASES = [
    ("unknown field", "fees.0.discount", "1.00", "fees.0.discount"),
    ("unknown top-level field", "operator", "me", "operator"),
    ("money with 3 places", "fees.0.det_item_fee_sumamt", "10.001", "fees.0.det_item_fee_sumamt"),
    (
        "money float with 3 places",
        "fees.0.det_item_fee_sumamt",
        Decimal("10.001"),
        "fees.0.det_item_fee_sumamt",
    ),
    ("negative amount", "fees.0.det_item_fee_sumamt", "-10.00", "fees.0.det_item_fee_sumamt"),
    ("negative price", "fees.0.pric", "-1", "fees.0.pric"),
    (
        "amount over the maximum",
        "fees.0.det_item_fee_sumamt",
        "10000000.00",
        "fees.0.det_item_fee_sumamt",
    ),
    ("price over the maximum", "fees.0.pric", "99999999", "fees.0.pric"),
    ("price with 7 places", "fees.0.pric", "1.1234567", "fees.0.pric"),
    ("count with 5 places", "fees.0.cnt", "1.12345", "fees.0.cnt"),
    ("zero count", "fees.0.cnt", "0", "fees.0.cnt"),
    ("text that is not a number", "fees.0.pric", "ten", "fees.0.pric"),
    ("object for an amount", "fees.0.pric", {"value": 10}, "fees.0.pric"),
    ("list for an amount", "fees.0.cnt", [1], "fees.0.cnt"),
    ("boolean for an amount", "fees.0.cnt", True, "fees.0.cnt"),
    ("null amount", "fees.0.det_item_fee_sumamt", None, "fees.0.det_item_fee_sumamt"),
    ("NaN text", "fees.0.pric", "NaN", "fees.0.pric"),
    ("over-long feedetl_sn", "fees.0.feedetl_sn", "9" * 31, "fees.0.feedetl_sn"),
    ("over-long item name", "fees.0.item_name", "药" * 201, "fees.0.item_name"),
    ("malformed time", "fees.0.fee_ocur_time", "yesterday", "fees.0.fee_ocur_time"),
    ("fees not a list", "fees", {"0": {}}, "fees"),
    ("empty batch", "fees", [], "fees"),
    ("missing chrg_bchno", "chrg_bchno", DELETE, "chrg_bchno"),
]


@pytest.mark.parametrize(
    ("case", "path", "value", "field"), FEE_CASES, ids=[c[0] for c in FEE_CASES]
)
def test_a_bad_fee_batch_is_422_with_its_field_and_holds_nothing(world, case, path, value, field):
    service, his, _, mdtrt_id = world
    before = counts(service)
    body = with_change(fee_body(), path, value)
    if isinstance(value, Decimal):
        # A JSON number written with three places, exactly as a careless HIS would send it.
        raw = str(body).replace("'", '"').replace(f'Decimal("{value}")', str(value))
        response = his.request("POST", f"/his/v1/visits/{mdtrt_id}/fees", raw=raw.encode())
    else:
        response = his.post(f"/his/v1/visits/{mdtrt_id}/fees", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [f["path"] for f in error["fields"]], error
    assert counts(service) == before


def test_a_json_number_with_two_places_is_taken_exactly(world):
    _, his, _, mdtrt_id = world
    raw = (
        b'{"chrg_bchno":"CB9","fees":[{"feedetl_sn":"9","med_list_codg":"001102000010000",'
        b'"item_name":"x","pric":0.1,"cnt":3,"det_item_fee_sumamt":0.30,'
        b'"fee_ocur_time":"2026-11-23T09:35:00+08:00"}]}'
    )
    response = his.request("POST", f"/his/v1/visits/{mdtrt_id}/fees", raw=raw)
    assert response.status_code == 201, response.text
    assert response.json()["fees"][0]["det_item_fee_sumamt"] == "0.30"


def test_a_batch_of_501_lines_is_refused_and_500_are_accepted(world):
    service, his, _, mdtrt_id = world
    line = fee_body()["fees"][0]
    too_many = [
        {**line, "feedetl_sn": f"L{i}", "pric": "0.01", "det_item_fee_sumamt": "0.01"}
        for i in range(501)
    ]
    before = counts(service)
    response = his.post(f"/his/v1/visits/{mdtrt_id}/fees", {"chrg_bchno": "BIG", "fees": too_many})
    assert response.status_code == 422
    assert "fees" in [f["path"] for f in response.json()["error"]["fields"]]
    assert counts(service) == before
    accepted = his.post(
        f"/his/v1/visits/{mdtrt_id}/fees", {"chrg_bchno": "BIG", "fees": too_many[:500]}
    )
    assert accepted.status_code == 201
    assert accepted.json()["medfee_sumamt"] == "5.00"


def test_a_body_that_is_not_utf8_is_422_and_writes_nothing(world):
    service, his, _, mdtrt_id = world
    before = counts(service)
    response = his.request(
        "POST", f"/his/v1/visits/{mdtrt_id}/fees", raw='{"chrg_bchno": "坏"}'.encode("gbk")
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert counts(service) == before


def test_a_body_that_is_not_json_is_422(world):
    _, his, _, mdtrt_id = world
    response = his.request("POST", f"/his/v1/visits/{mdtrt_id}/fees", raw=b"chrg_bchno=1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    # The whole body is at fault, not a field named by the character where parsing stopped.
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body"]


def test_validation_failures_are_not_stored_as_idempotent_answers(world):
    service, his, _, mdtrt_id = world
    bad = with_change(fee_body(), "fees.0.pric", "x")
    assert his.post(f"/his/v1/visits/{mdtrt_id}/fees", bad, key="fix-and-retry").status_code == 422
    good = his.post(f"/his/v1/visits/{mdtrt_id}/fees", fee_body(), key="fix-and-retry")
    assert good.status_code == 201
    with service.container.uow() as uow:
        keys = uow.session.scalars(select(IdempotencyRecord.key)).all()
    assert "fix-and-retry" in keys
