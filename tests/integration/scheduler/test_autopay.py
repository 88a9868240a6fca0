"""Auto-pay (无感支付): ``on_close`` pays at the first sweep after close, ``before_deadline`` within
the policy's lead time of ``due_at``; each bill is tried once; an overdue bill paid lifts the freeze."""

from __future__ import annotations

import uuid
from decimal import Decimal

from settlement.scheduler import run_due
from settlement.usecases.paying.payments import wallet_for
from tests.integration.scheduler.support import actions, bill, bill_for


def withholding(service, person, provider: str = "alipay") -> None:
    with service.container.uow() as uow:
        wallet_for(service.container, uow.session, provider).sign_agreement(person.psn_no)
        uow.commit()


def test_on_close_auto_pay_settles_the_bill_at_the_first_sweep_and_sends_no_reminder(service, his):
    person = service.add_person()
    service.sign(person, autopay="on_close")
    withholding(service, person)
    bill_id = bill_for(service, his, person, amount="300.00")  # 100.00 account, 200.00 wallet
    report = run_due(service.container)
    assert report.ids("autopay") == [bill_id]
    assert bill(service, bill_id).status == "settled"
    assert actions(service) == [(bill_id, "autopay", "done")]
    run_due(service.container)
    assert actions(service) == [(bill_id, "autopay", "done")]


def test_before_deadline_auto_pay_waits_for_the_lead_time_then_pays_once(service, his):
    person = service.add_person()
    service.sign(person, autopay="before_deadline")
    withholding(service, person, "wechat")
    bill_id = bill_for(service, his, person)
    service.advance(hours=70, minutes=59)  # 61 minutes before the deadline; the lead is 60
    assert run_due(service.container).ids("autopay") == []
    assert bill(service, bill_id).status == "billed"
    service.advance(minutes=1)
    assert run_due(service.container).ids("autopay") == [bill_id]
    assert bill(service, bill_id).status == "settled"
    service.advance(hours=2)
    report = run_due(service.container)
    assert report.ids("autopay") == report.ids("overdue") == []
    assert [k for _, k, _ in actions(service) if k == "autopay"] == ["autopay"]


def test_without_a_withholding_agreement_auto_pay_is_skipped_once_and_the_bill_can_go_overdue(
    service, his
):
    person = service.add_person()
    service.sign(person, autopay="on_close")
    bill_id = bill_for(service, his, person)
    run_due(service.container)
    assert (bill_id, "autopay", "skipped") in actions(service)
    service.advance(hours=72)
    assert run_due(service.container).ids("overdue") == [bill_id]


def test_a_failed_auto_pay_leaves_the_bill_payable_and_is_not_retried(service, his):
    person = service.add_person()
    service.sign(person, autopay="on_close")
    withholding(service, person, "wechat")
    bill_id = bill_for(service, his, person, amount="300.00")
    answer = service.client.post("/sandbox/v1/wallets/wechat/behaviour", json={"next": "fail"})
    assert answer.status_code == 200, answer.text
    run_due(service.container)
    assert bill(service, bill_id).status == "billed"
    run_due(service.container)
    assert [k for _, k, _ in actions(service) if k == "autopay"] == ["autopay"]


def test_patients_without_auto_pay_are_never_charged_automatically(service, his):
    person, _ = service.enrol()
    withholding(service, person)
    bill_id = bill_for(service, his, person)
    service.advance(hours=71, minutes=30)
    assert run_due(service.container).ids("autopay") == []
    assert bill(service, bill_id).status == "billed"


def test_paying_an_overdue_bill_lifts_the_freeze_at_a_lower_line(service, his):
    person, line = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=72)
    run_due(service.container)
    assert his.get(f"/his/v1/patients/{person.psn_no}/credit").json()["status"] == "frozen"

    token = service.login(person)
    paid = service.client.post(
        f"/v1/bills/{bill_id}/payments",
        json={"wallet": "wechat"},
        headers={**token, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 201, paid.text
    run = service.client.post("/sandbox/v1/scheduler/run")
    assert run.status_code == 200, run.text
    assert bill(service, bill_id).status == "settled_late"
    credit = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert credit["status"] == "active"
    assert Decimal(credit["credit_line"]) < line  # the credit rules: unfrozen lower
    assert his.open_visit(person.psn_no).status_code == 201


def test_a_late_scheduler_still_auto_pays_before_the_deadline_instead_of_making_it_overdue(
    service, his
):
    person = service.add_person()
    service.sign(person, autopay="before_deadline")
    withholding(service, person)
    bill_id = bill_for(service, his, person, amount="300.00")
    moved = service.client.post("/sandbox/v1/clock/advance", json={"hours": 73})
    assert moved.status_code == 200, moved.text

    run = service.client.post("/sandbox/v1/scheduler/run")

    assert run.status_code == 200, run.text
    assert run.json()["sweeps"]["autopay"]["ids"] == [bill_id]
    assert run.json()["sweeps"]["overdue"]["ids"] == []
    assert bill(service, bill_id).status == "settled"
    assert his.get(f"/his/v1/patients/{person.psn_no}/credit").json()["status"] == "active"


def test_a_late_auto_pay_the_wallet_declines_makes_the_bill_overdue_in_the_same_run(service, his):
    person = service.add_person()
    service.sign(person, autopay="before_deadline")
    withholding(service, person, "wechat")
    bill_id = bill_for(service, his, person, amount="300.00")
    declined = service.client.post("/sandbox/v1/wallets/wechat/behaviour", json={"next": "fail"})
    assert declined.status_code == 200, declined.text
    service.advance(hours=73)

    report = run_due(service.container)

    assert report.ids("autopay") == [bill_id]  # tried first
    assert report.ids("overdue") == [bill_id]  # and only its failure made it overdue
    assert bill(service, bill_id).status == "overdue"
