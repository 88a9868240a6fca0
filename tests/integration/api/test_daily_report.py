"""The daily report tells what happened, on the day it happened, and agrees with reconciliation.

Issue 16, item 6: the report used to sum the bills' estimates at close (mutual aid appeared as
wallet cash, refunds after settlement were ignored, a refund before payment rewrote a past day).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.harness import Service, build_service
from tests.integration.family.support import make_family
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for, pay

FIRST_DAY = "2026-11-23"
LATER_DAY = "2026-11-26"
#: The blocks a hospital's row in the report shares with its reconciliation (3201).
SHARED = ("bills_closed", "settlements", "refunds", "net", "outstanding", "overdue")
D = Decimal


@pytest.fixture
def service(engine) -> Service:
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    return build_service(engine, account_balance="0.00")


def daily(service: Service, day: str, **query: str) -> dict[str, Any]:
    params = "".join(f"&{name}={value}" for name, value in query.items())
    response = service.client.get(
        f"/admin/v1/reports/daily?date={day}{params}", headers=service.admin
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def reconciliation(service: Service, code: str, day: str) -> dict[str, Any]:
    response = service.hospitals[code].get(f"/his/v1/reconciliation?date={day}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def row(report: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(h for h in report["hospitals"] if h["hospital_code"] == code)
    return found


def refund(service: Service, code: str, bill_id: str, *sns: str) -> dict[str, Any]:
    response = service.hospitals[code].post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": list(sns), "reason": "退药"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def build_days(service: Service) -> dict[str, Any]:
    """23 Nov: three bills at H001, one paid. 26 Nov: one of them overdue, the paid one refunded
    in part, a relative's bill paid with mutual aid, a bill refunded before payment, and a
    wallet payment at HX."""
    family = make_family(service, manager_balc="80.25", relative_balc="10.00")
    service.add_hospital("HX", level=1)
    his = family.his
    late_person, _ = service.enrol()
    late_bill, _ = bill_for(his, late_person.psn_no, (HEALTH_ADVICE, "25", "1"))
    payer, _ = service.enrol(balc="30.00")
    paid_bill, paid_sns = bill_for(
        his, payer.psn_no, (HEALTH_ADVICE, "20", "1"), (HEALTH_ADVICE, "40", "1")
    )
    assert pay(service, service.login(payer), paid_bill).status_code == 201
    first_day = daily(service, FIRST_DAY)

    service.advance(hours=73)
    run = service.client.post("/sandbox/v1/scheduler/run")
    assert run.status_code == 200, run.text
    relative_bill, _ = bill_for(
        his, family.relative.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    paid = family.post(
        f"/v1/bills/{relative_bill}/payments", family.manager_auth, {"wallet": "wechat"}
    )
    assert paid.status_code == 201, paid.text
    mutual_aid = paid.json()["setlinfo"]
    refund(service, "H001", paid_bill, paid_sns[1])
    unpaid_person, _ = service.enrol()
    unpaid_bill, unpaid_sns = bill_for(
        his, unpaid_person.psn_no, (HEALTH_ADVICE, "10", "1"), (HEALTH_ADVICE, "15", "1")
    )
    refund(service, "H001", unpaid_bill, unpaid_sns[0])
    wallet_person, _ = service.enrol(balc="0.00")
    wallet_bill, _ = bill_for(
        service.hospitals["HX"], wallet_person.psn_no, (HEALTH_ADVICE, "33", "1")
    )
    assert pay(service, service.login(wallet_person), wallet_bill).status_code == 201
    return {"first_day": first_day, "mutual_aid": mutual_aid, "late_bill": late_bill}


def test_each_hospitals_row_equals_its_reconciliation_for_the_same_day(service: Service) -> None:
    build_days(service)
    for day in (FIRST_DAY, LATER_DAY):
        report = daily(service, day)
        for code in ("H001", "HX"):
            reconciled = reconciliation(service, code, day)
            assert reconciled["balanced"] is True, reconciled["mismatches"]
            mine = row(report, code)
            assert {name: mine[name] for name in SHARED} == {
                name: reconciled[name] for name in SHARED
            }, (day, code)
            alone = daily(service, day, hospital=code)
            assert row(alone, code) == mine
            assert {name: alone["totals"][name] for name in SHARED} == {
                name: reconciled[name] for name in SHARED
            }


def test_the_report_counts_what_happened_on_the_day_it_happened(service: Service) -> None:
    built = build_days(service)
    h001 = row(daily(service, LATER_DAY), "H001")
    aid = built["mutual_aid"]

    # The relative's bill (330.00): the fund, the relative's account and the manager's by mutual
    # aid, and the wallet; mutual aid is the account's, never wallet cash.
    assert h001["bills_closed"] == {"count": 2, "amount": "355.00"}
    settled = h001["settlements"]
    assert settled["acct_mulaid_pay"] == aid["acct_mulaid_pay"] == "80.25"
    assert D(settled["fund_pay_sumamt"]) == D(aid["hifp_pay"])
    # The refund after settlement re-settles the 60.00 bill's remaining 20.00 from the account.
    assert settled["count"] == 2
    assert D(settled["acct_pay"]) == D(aid["acct_pay"]) + D("20.00")
    assert D(settled["psn_cash_pay"]) == D(aid["psn_cash_pay"])

    # Refunds: 40.00 after settlement (the 60.00 bill was paid 30.00 + 30.00 on the 23rd),
    # 10.00 before payment; the reversal hands back 30.00 + 30.00, the payers keep 10 + 30.
    refunds = h001["refunds"]
    assert (refunds["count"], refunds["medfee_sumamt"]) == (2, "50.00")
    assert refunds["returned"]["acct_pay"] == "30.00"
    assert refunds["returned"]["psn_cash_pay"] == "30.00"
    assert refunds["paid_back"] == {
        "fund_pay_sumamt": "0.00",
        "acct_pay": "10.00",
        "acct_mulaid_pay": "0.00",
        "psn_cash_pay": "30.00",
    }
    for payer in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
        assert D(h001["net"][payer]) == D(settled[payer]) - D(refunds["returned"][payer])
    assert D(h001["net"]["psn_cash_pay"]) == D(aid["psn_cash_pay"]) - D("30.00")

    # At the end of the 26th: the overdue 25.00 and the 15.00 left of the refunded bill.
    assert h001["outstanding"] == {"count": 2, "amount": "40.00"}
    assert h001["overdue"] == {"count": 1, "amount": "25.00"}
    assert (h001["bills_due"], h001["went_overdue"], h001["overdue_rate"]) == (2, 1, "0.5000")

    hx = row(daily(service, LATER_DAY), "HX")
    assert hx["settlements"]["psn_cash_pay"] == "33.00"
    assert hx["net"]["psn_cash_pay"] == "33.00"


def test_a_past_day_does_not_change_when_its_bills_are_refunded_later(service: Service) -> None:
    built = build_days(service)
    before, after = built["first_day"], daily(service, FIRST_DAY)
    assert row(after, "H001") == row(before, "H001")
    h001 = row(after, "H001")
    assert h001["bills_closed"] == {"count": 2, "amount": "85.00"}
    assert h001["settlements"]["medfee_sumamt"] == "60.00"
    assert h001["settlements"]["acct_pay"] == "30.00"
    assert h001["settlements"]["psn_cash_pay"] == "30.00"
    assert h001["outstanding"] == {"count": 1, "amount": "25.00"}
    assert h001["overdue"] == {"count": 0, "amount": "0.00"}


def test_the_scheme_reports_credit_in_use_as_every_hospitals_unpaid_bills(
    service: Service,
) -> None:
    build_days(service)
    report = daily(service, LATER_DAY)
    outstanding = sum(D(h["outstanding"]["amount"]) for h in report["hospitals"])
    assert D(report["scheme"]["credit_in_use"]) == outstanding == D("40.00")
    alone = daily(service, LATER_DAY, hospital="HX")
    assert alone["scheme"] == report["scheme"]
    assert alone["totals"]["outstanding"] == {"count": 0, "amount": "0.00"}


def _schemas_without_descriptions(document: dict[str, Any], name: str) -> list[str]:
    schemas = document["components"]["schemas"]
    missing, seen = [], set()

    def walk(schema_name: str) -> None:
        if schema_name in seen:
            return
        seen.add(schema_name)
        for field, spec in schemas[schema_name].get("properties", {}).items():
            if not spec.get("description"):
                missing.append(f"{schema_name}.{field}")
            for ref in _refs(spec):
                walk(ref)

    walk(name)
    return missing


def _refs(spec: Any) -> list[str]:
    if isinstance(spec, dict):
        found = [spec["$ref"].rsplit("/", 1)[-1]] if "$ref" in spec else []
        return found + [ref for value in spec.values() for ref in _refs(value)]
    if isinstance(spec, list):
        return [ref for value in spec for ref in _refs(value)]
    return []


def test_the_openapi_document_defines_every_figure(service: Service) -> None:
    document = service.client.get("/openapi.json").json()
    assert _schemas_without_descriptions(document, "DailyReportPublic") == []
    assert _schemas_without_descriptions(document, "ReconciliationPublic") == []
