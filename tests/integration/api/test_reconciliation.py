"""Reconciliation (3201): the hospital's day from its records equals the same day from the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from settlement.ledger.verify import verify_ledger
from tests.harness import build_service
from tests.integration.payments.support import HEALTH_ADVICE, REGISTRATION, bill_for, pay

TODAY = "2026-11-23"


@pytest.fixture
def service(engine):
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    svc = build_service(engine, account_balance="0.00")
    svc.add_hospital("HR", level=3)
    svc.add_hospital("HX", level=1)
    return svc


def day(his, date: str = TODAY) -> dict:
    response = his.get(f"/his/v1/reconciliation?date={date}")
    assert response.status_code == 200, response.text
    return response.json()


def test_an_empty_day_is_all_zero_and_balanced(service):
    report = day(service.hospitals["HR"])
    assert report["bills_closed"] == {"count": 0, "amount": "0.00"}
    assert report["settlements"]["count"] == 0
    assert report["outstanding"] == {"count": 0, "amount": "0.00"}
    assert report["balanced"] is True and report["mismatches"] == []


def test_a_day_of_bills_payments_and_refunds_equals_the_ledger(service):
    his = service.hospitals["HR"]
    payer, _ = service.enrol(balc="50.00", ytd_dedc="200.00")
    debtor, _ = service.enrol()
    refunder, _ = service.enrol(balc="0.00")

    paid_bill, _ = bill_for(
        his, payer.psn_no, (REGISTRATION, "1.00", "1"), (HEALTH_ADVICE, "99", "1")
    )
    unpaid_bill, _ = bill_for(his, debtor.psn_no, (HEALTH_ADVICE, "60", "1"))
    refunded_bill, sns = bill_for(
        his, refunder.psn_no, (HEALTH_ADVICE, "10", "1"), (HEALTH_ADVICE, "15", "1")
    )
    headers = service.login(payer)
    assert pay(service, headers, paid_bill).status_code in (200, 201)
    refund = his.post(
        f"/his/v1/bills/{refunded_bill}/refunds", {"feedetl_sn": [sns[0]], "reason": "退药"}
    )
    assert refund.status_code in (200, 201), refund.text
    # Another hospital's activity must not appear in this hospital's day.
    other, _ = service.enrol()
    bill_for(service.hospitals["HX"], other.psn_no, (HEALTH_ADVICE, "33", "1"))

    report = day(his)
    assert report["bills_closed"] == {"count": 3, "amount": "185.00"}
    settled = report["settlements"]
    assert settled["count"] == 1
    assert settled["medfee_sumamt"] == "100.00"
    # 1.00 in scope, deductible used up, level 3 in service: the fund pays half of it.
    assert settled["fund_pay_sumamt"] == "0.50"
    assert settled["acct_pay"] == "50.00"
    assert settled["psn_cash_pay"] == "49.50"
    assert report["refunds"]["count"] == 1
    assert report["refunds"]["medfee_sumamt"] == "10.00"
    assert report["outstanding"] == {"count": 2, "amount": "75.00"}
    assert report["overdue"] == {"count": 0, "amount": "0.00"}
    assert report["ledger"]["charges_posted"] == "185.00"
    assert report["ledger"]["charges_refunded"] == "10.00"
    assert report["ledger"]["psn_cash_pay_posted"] == "49.50"
    assert report["balanced"] is True, report["mismatches"]
    assert day(service.hospitals["HX"])["bills_closed"] == {"count": 1, "amount": "33.00"}
    assert unpaid_bill


def test_a_refund_after_settlement_shows_what_went_back_to_each_payer(service):
    his = service.hospitals["HR"]
    person, _ = service.enrol(balc="30.00")
    bill_id, sns = bill_for(
        his, person.psn_no, (HEALTH_ADVICE, "20", "1"), (HEALTH_ADVICE, "40", "1")
    )
    assert pay(service, service.login(person), bill_id).status_code in (200, 201)
    refund = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [sns[1]], "reason": "退费"}
    )
    assert refund.status_code in (200, 201), refund.text
    report = day(his)
    returned = report["refunds"]["returned"]
    # The 60.00 bill was paid 30.00 from the account and 30.00 from the wallet; after refunding
    # 40.00 the remaining 20.00 is re-settled from the account, so 10.00 goes back to it and the
    # whole 30.00 to the wallet.
    assert Decimal(returned["acct_pay"]) + Decimal(returned["psn_cash_pay"]) == Decimal("60.00")
    assert report["settlements"]["count"] == 2  # the original and its re-settlement
    assert report["balanced"] is True, report["mismatches"]
    with service.container.uow() as uow:
        assert verify_ledger(uow.session).ok


def test_outstanding_and_overdue_are_as_of_the_end_of_the_day(service):
    his = service.hospitals["HR"]
    person, _ = service.enrol()
    bill_for(his, person.psn_no, (HEALTH_ADVICE, "25", "1"))
    service.advance(hours=73)
    run = service.client.post("/sandbox/v1/scheduler/run")
    assert run.status_code == 200, run.text
    today = day(his, TODAY)
    assert today["outstanding"] == {"count": 1, "amount": "25.00"}
    assert today["overdue"] == {"count": 0, "amount": "0.00"}
    later = day(his, "2026-11-26")
    assert later["overdue"] == {"count": 1, "amount": "25.00"}
    assert later["bills_closed"]["count"] == 0


def test_the_date_must_be_a_calendar_day(service):
    his = service.hospitals["HR"]
    for bad in ("2026-13-01", "yesterday", ""):
        response = his.get(f"/his/v1/reconciliation?date={bad}")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
    assert his.get("/his/v1/reconciliation").status_code == 422
