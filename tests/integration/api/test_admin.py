"""Administration over HTTP: catalogue items and the daily report, with the admin token only."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from settlement.billing.catalogue import CatalogueItemRow
from settlement.billing.tables import Bill
from tests.harness import build_service
from tests.integration.payments.support import login

REGISTRATION = "001101000010000"  # class A, price cap 1.00, seeded
HEALTH_ADVICE = "001110000010000"  # class C, seeded
NEW_CODE = "XX0000000000001"


@pytest.fixture
def service(engine):
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    svc = build_service(engine, account_balance="0.00")
    svc.add_hospital("H1", level=1)
    svc.add_hospital("H3", level=3)
    return svc


def put(service, code, body, headers=None):
    return service.client.put(
        f"/admin/v1/catalogue/{code}", json=body, headers=headers or service.admin
    )


def stored(service, code):
    with service.container.uow() as uow:
        row = uow.session.get(CatalogueItemRow, code)
        return None if row is None else row.item()


# -- catalogue -------------------------------------------------------------------------------------


def test_a_new_item_is_created_and_read_back(service):
    body = {
        "item_name": "专家诊查费",
        "chrgitm_lv": "B",
        "selfpay_prop": "0.15",
        "pric_uplmt_amt": "40",
    }
    response = put(service, NEW_CODE, body)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item == {
        "med_list_codg": NEW_CODE,
        "item_name": "专家诊查费",
        "chrgitm_lv": "B",
        "selfpay_prop": "0.15",
        "pric_uplmt_amt": "40.00",
        "category": "",
        "lmt_used_flag": False,
        "updated_at": "2026-11-23T09:30:00+08:00",
    }
    read = service.client.get(f"/admin/v1/catalogue/{NEW_CODE}", headers=service.admin)
    assert read.status_code == 200
    assert read.json() == item


def test_replacing_an_item_answers_200_and_keeps_its_category_unless_given(service):
    before = stored(service, REGISTRATION)
    assert before.category
    response = put(service, REGISTRATION, {"item_name": "挂号费", "chrgitm_lv": "C"})
    assert response.status_code == 200
    assert response.json()["chrgitm_lv"] == "C"
    assert response.json()["pric_uplmt_amt"] is None
    assert response.json()["category"] == before.category
    renamed = put(
        service, REGISTRATION, {"item_name": "挂号费", "chrgitm_lv": "C", "category": "挂号"}
    )
    assert renamed.json()["category"] == "挂号"


def test_a_retried_put_with_an_idempotency_key_changes_nothing(service):
    body = {"item_name": "检查费", "chrgitm_lv": "A"}
    headers = {**service.admin, "Idempotency-Key": "cat-1"}
    first = put(service, NEW_CODE, body, headers)
    again = put(service, NEW_CODE, body, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_the_hospital_is_charged_by_the_new_class_at_once(service):
    put(service, HEALTH_ADVICE, {"item_name": "健康咨询", "chrgitm_lv": "A"})
    person, _ = service.enrol()
    his = service.hospitals["H3"]
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    (line,) = his.charge(mdtrt_id, (HEALTH_ADVICE, "30.00", "1")).json()["fees"]
    assert line["chrgitm_lv"] == "A"
    assert line["inscp_scp_amt"] == "30.00"


def test_a_class_b_item_without_a_share_takes_the_policy_default(service):
    response = put(service, NEW_CODE, {"item_name": "乙类药", "chrgitm_lv": "B"})
    assert response.status_code == 201
    assert response.json()["selfpay_prop"] is None


def test_a_json_number_share_is_taken_exactly(service):
    response = service.client.put(
        f"/admin/v1/catalogue/{NEW_CODE}",
        content=b'{"item_name": "x", "chrgitm_lv": "B", "selfpay_prop": 0.1}',
        headers={**service.admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert stored(service, NEW_CODE).selfpay_prop == Decimal("0.1")


BAD_ITEMS = [
    ({"chrgitm_lv": "A", "selfpay_prop": "0.1"}, "selfpay_prop"),
    ({"chrgitm_lv": "C", "selfpay_prop": "0"}, "selfpay_prop"),
    ({"selfpay_prop": "1.01"}, "selfpay_prop"),
    ({"selfpay_prop": "-0.1"}, "selfpay_prop"),
    ({"selfpay_prop": "0.12345"}, "selfpay_prop"),
    ({"selfpay_prop": 0.12345}, "selfpay_prop"),
    ({"selfpay_prop": [0.1]}, "selfpay_prop"),
    ({"pric_uplmt_amt": "1.1234567"}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": "1.234"}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": 1.234}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": "-1"}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": "10000000"}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": {"v": "1"}}, "pric_uplmt_amt"),
    ({"pric_uplmt_amt": "many"}, "pric_uplmt_amt"),
    ({"chrgitm_lv": "D"}, "chrgitm_lv"),
    ({"chrgitm_lv": ["B"]}, "chrgitm_lv"),
    ({"item_name": "药" * 201}, "item_name"),
    ({"item_name": ""}, "item_name"),
    ({"item_name": 12}, "item_name"),
    ({"category": "类" * 41}, "category"),
    ({"price": "1"}, "price"),
]


def test_bad_items_are_422_with_the_field_path_and_write_nothing(service):
    for change, path in BAD_ITEMS:
        response = put(service, NEW_CODE, {"item_name": "乙类药", "chrgitm_lv": "B", **change})
        assert response.status_code == 422, (change, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error", change
        assert path in [field["path"] for field in error["fields"]], change
    assert stored(service, NEW_CODE) is None


def test_an_over_long_code_is_a_validation_error(service):
    response = put(service, "C" * 51, {"item_name": "x", "chrgitm_lv": "A"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "path.med_list_codg"


def test_an_unknown_item_is_not_found(service):
    response = service.client.get(f"/admin/v1/catalogue/{NEW_CODE}", headers=service.admin)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", f"/admin/v1/catalogue/{NEW_CODE}"),
        ("GET", f"/admin/v1/catalogue/{REGISTRATION}"),
        ("GET", "/admin/v1/reports/daily?date=2026-11-23"),
    ],
)
def test_admin_calls_refuse_patients_hospitals_and_strangers(service, method, path):
    person, _ = service.enrol()
    body = {"item_name": "x", "chrgitm_lv": "A"}
    content = json.dumps(body).encode() if method == "PUT" else None
    for headers in (
        {},
        service.login(person),
        {"Authorization": "Bearer wrong-admin-token"},
    ):
        response = service.client.request(
            method, path, content=content, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthenticated"
    signed = service.hospitals["H1"].request(method, path, body if method == "PUT" else None)
    assert signed.status_code == 401
    assert stored(service, NEW_CODE) is None


# -- the daily report ------------------------------------------------------------------------------


def report(service, query):
    response = service.client.get(f"/admin/v1/reports/daily?{query}", headers=service.admin)
    assert response.status_code == 200, response.text
    return response.json()


def sign_over_http(service, person):
    headers = service.login(person)
    response = service.client.post(
        "/v1/agreements",
        json={
            "psn_no": person.psn_no,
            "certno": person.certno,
            "psn_name": person.psn_name,
            "version": 1,
            "accept": True,
            "autopay": "off",
        },
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201
    return Decimal(response.json()["credit_line"]), headers


def close_bill(his, psn_no, *lines):
    mdtrt_id = his.open_visit(psn_no).json()["mdtrt_id"]
    if lines:
        his.charge(mdtrt_id, *lines)
    return his.post(f"/his/v1/visits/{mdtrt_id}/close").json()


@pytest.fixture
def day_one(service):
    """Three patients sign on 23 November; four visits at two hospitals close into bills."""
    h1, h3 = service.hospitals["H1"], service.hospitals["H3"]
    # Every bill leaves the wallet a part, so each waits for its payer (a bill the insurance
    # accounts cover settles when it is made, issue 16 item 4).
    people = [service.add_person(balc=balc) for balc in ("20.00", "0.00", "2.00")]
    lines = [sign_over_http(service, person)[0] for person in people]
    bills = [
        close_bill(
            h3, people[0].psn_no, (HEALTH_ADVICE, "30.00", "1"), (REGISTRATION, "1.00", "1")
        ),
        close_bill(h3, people[1].psn_no, (HEALTH_ADVICE, "12.50", "2")),
        close_bill(h3, people[1].psn_no),
        close_bill(h1, people[2].psn_no, (REGISTRATION, "1.00", "4")),
    ]
    return people, lines, bills


def test_the_report_counts_sign_ups_credit_visits_bills_and_payers(service, day_one):
    people, lines, bills = day_one
    paid = service.client.post(
        f"/v1/bills/{bills[0]['bill_id']}/payments",
        json={"wallet": "wechat"},
        headers={**login(service, people[0]), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 201, paid.text
    setlinfo = paid.json()["setlinfo"]
    body = report(service, "date=2026-11-23")
    assert body["date"] == "2026-11-23"
    assert body["timezone"] == "Asia/Shanghai"
    assert body["scheme"] == {
        "signed_patients_day": 3,
        "signed_patients_total": 3,
        "active_lines": 3,
        "credit_granted": f"{sum(lines):.2f}",
        "credit_in_use": "29.00",
    }
    h1, h3 = body["hospitals"]
    assert (h1["hospital_code"], h3["hospital_code"]) == ("H1", "H3")
    assert h3["hospital_name"] == "测试医院 H3"
    assert (h3["visits_opened"], h3["patients_seen"]) == (3, 2)
    assert (h1["visits_opened"], h1["patients_seen"]) == (1, 1)
    # Three bills closed at H3 (the empty visit's among them), one at H1.
    assert h3["bills_closed"] == {"count": 3, "amount": "56.00"}
    assert h1["bills_closed"] == {"count": 1, "amount": "4.00"}
    # The amounts by payer are the settlement's, as paid, not the bills' estimates at close.
    settled = h3["settlements"]
    assert settled["count"] == 1
    for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        assert Decimal(settled[name]) == Decimal(setlinfo[name]), name
    assert settled["medfee_sumamt"] == "31.00"
    assert Decimal(settled["medfee_sumamt"]) == sum(
        Decimal(settled[n]) for n in ("fund_pay_sumamt", "acct_pay", "psn_cash_pay")
    )
    assert h1["settlements"]["count"] == 0 and h1["settlements"]["medfee_sumamt"] == "0.00"
    assert h3["outstanding"] == {"count": 1, "amount": "25.00"}
    assert h1["outstanding"] == {"count": 1, "amount": "4.00"}
    assert (h3["bills_due"], h3["went_overdue"], h3["overdue_rate"]) == (0, 0, None)
    totals = body["totals"]
    assert totals["hospital_code"] == "*"
    assert (totals["visits_opened"], totals["patients_seen"]) == (4, 3)
    assert totals["bills_closed"] == {"count": 4, "amount": "60.00"}
    assert totals["settlements"]["medfee_sumamt"] == "31.00"
    assert totals["outstanding"] == {"count": 2, "amount": "29.00"}


def test_the_overdue_rate_is_of_the_bills_that_fell_due_that_day(service, day_one):
    _, _, bills = day_one
    with service.container.uow() as uow:
        bill = uow.session.get(Bill, bills[1]["bill_id"])
        bill.status = "overdue"
        bill.overdue_at = bill.due_at
        uow.commit()
    body = report(service, "date=2026-11-26")
    h1, h3 = body["hospitals"]
    # The empty visit's bill closed settled and owed nothing, so it never falls due.
    assert (h3["bills_due"], h3["went_overdue"], h3["overdue_rate"]) == (2, 1, "0.5000")
    assert (h1["bills_due"], h1["went_overdue"], h1["overdue_rate"]) == (1, 0, "0.0000")
    assert body["totals"]["overdue_rate"] == "0.3333"
    assert h3["visits_opened"] == 0
    assert body["scheme"]["signed_patients_day"] == 0
    assert body["scheme"]["signed_patients_total"] == 3


def test_one_hospital_can_be_asked_for(service, day_one):
    body = report(service, "date=2026-11-23&hospital=H1")
    assert [h["hospital_code"] for h in body["hospitals"]] == ["H1"]
    assert body["totals"]["bills_closed"] == {"count": 1, "amount": "4.00"}


def test_a_day_before_anything_happened_is_all_zero(service, day_one):
    body = report(service, "date=2026-11-22")
    assert body["scheme"] == {
        "signed_patients_day": 0,
        "signed_patients_total": 0,
        "active_lines": 0,
        "credit_granted": "0.00",
        "credit_in_use": "0.00",
    }
    for hospital in body["hospitals"]:
        assert hospital["visits_opened"] == 0
        assert hospital["bills_closed"] == {"count": 0, "amount": "0.00"}


def test_a_revoked_agreement_leaves_the_totals_from_the_next_day(service):
    person = service.add_person()
    _, headers = sign_over_http(service, person)
    service.advance(days=1)
    revoked = service.client.delete(
        "/v1/agreements/current", headers={**headers, "Idempotency-Key": "rv"}
    )
    assert revoked.status_code == 200
    day_one = report(service, "date=2026-11-23")["scheme"]
    assert (day_one["signed_patients_total"], day_one["active_lines"]) == (1, 1)
    day_two = report(service, "date=2026-11-24")["scheme"]
    assert (day_two["signed_patients_total"], day_two["active_lines"]) == (0, 0)
    assert day_two["credit_granted"] == "0.00"


def test_the_day_is_the_local_calendar_day(service):
    # 23:30 on the 23rd in Dezhou is 15:30 UTC: it belongs to the 23rd.
    service.advance(hours=14)
    person = service.add_person()
    sign_over_http(service, person)
    assert report(service, "date=2026-11-23")["scheme"]["signed_patients_day"] == 1
    assert report(service, "date=2026-11-24")["scheme"]["signed_patients_day"] == 0


def test_an_unknown_hospital_is_not_found(service):
    response = service.client.get(
        "/admin/v1/reports/daily?date=2026-11-23&hospital=NOPE", headers=service.admin
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_bad_date_or_hospital_is_a_validation_error(service):
    for query in [
        "",
        "date=2026-02-30",
        "date=yesterday",
        "date=2026-1-5",
        "date=20261123",
        "date=2026-11-23&hospital=" + "H" * 33,
    ]:
        response = service.client.get(f"/admin/v1/reports/daily?{query}", headers=service.admin)
        assert response.status_code == 422, query
        error = response.json()["error"]
        assert error["code"] == "validation_error", query
        assert error["fields"][0]["path"].startswith("query."), query


def test_no_number_in_the_report_is_a_float(service, day_one):
    response = service.client.get("/admin/v1/reports/daily?date=2026-11-23", headers=service.admin)
    assert response.json()["totals"]["bills_closed"]["count"] == 4

    def walk(value):
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(response.text))


def test_the_policies_in_use_show_their_settlement_mode_to_the_administrator_only(service):
    from tests.integration.payments.support import use_mode

    listed = service.client.get("/admin/v1/policies", headers=service.admin)
    assert listed.status_code == 200, listed.text
    versions = listed.json()["policies"]
    assert [(p["region_code"], p["version"]) for p in versions] == [
        ("371400", "2025.1"),
        ("371400", "2026.1"),
    ]
    assert {p["settlement_mode"] for p in versions} == {"repayment"}
    assert versions[1]["effective_to"] is None and versions[1]["deductible"] == "200.00"
    use_mode(service, "visit_end")
    again = service.client.get("/admin/v1/policies", headers=service.admin).json()
    assert {p["settlement_mode"] for p in again["policies"]} == {"visit_end"}
    assert service.client.get("/admin/v1/policies").status_code == 401
