"""Paying a bill over HTTP with the sandbox wallet: the split, the callback, the ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from settlement.billing.tables import Bill
from settlement.usecases.credit.decisions import current_decision
from settlement.usecases.paying.payments import deliver_due_callbacks
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    callback_log,
    login,
    notify,
    order_row,
    pay,
    set_behaviour,
    settlements,
    snapshot,
    top_up,
)

D = Decimal


def story(service, his, *, balc="100.00"):
    """A signed patient with a 330.00 bill at a level-3 hospital (in service: 50 %)."""
    person, line = service.enrol(balc=balc)
    bill_id, sns = bill_for(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    return person, line, bill_id, sns


def test_the_personal_account_pays_first_and_the_wallet_pays_the_rest(service, his):
    person, line, bill_id, _ = story(service, his, balc="100.00")
    before = snapshot(service, person.psn_no)
    assert before.outstanding == D("330.00")

    response = pay(service, login(service, person), bill_id)

    assert response.status_code == 201, response.text
    body = response.json()
    info = body["setlinfo"]
    # 300.00 in scope: 200.00 deductible, then 50 % of 100.00 from the pool.
    assert info["medfee_sumamt"] == "330.00"
    assert info["act_pay_dedc"] == "200.00"
    assert info["hifp_pay"] == "50.00"
    assert info["psn_part_amt"] == "280.00"
    assert info["acct_pay"] == "100.00"  # the whole balance, lower than the share
    assert info["psn_cash_pay"] == "180.00"  # the wallet pays the rest
    assert info["balc"] == "0.00"
    assert info["setl_id"].startswith("ST")
    assert body["payment"]["amount"] == "180.00"
    assert body["payment"]["status"] == "pending"  # the answer precedes the callback

    # The sandbox's signed callback arrived right after the payment committed.
    assert bill_row(service, bill_id).status == "settled"
    payment = service.client.get(
        f"/v1/payments/{body['payment']['payment_id']}", headers=login(service, person)
    )
    assert payment.json()["status"] == "succeeded"
    after = snapshot(service, person.psn_no)
    assert after.outstanding == D("0.00")
    assert after.available == line
    assert after.pool_posted == before.pool_posted - D("50.00")
    assert after.account_posted == before.account_posted - D("100.00")
    assert after.wallet_posted == before.wallet_posted - D("180.00")
    assert after.balc == D("0.00")
    assert (after.deductible_used, after.hifp_paid) == (D("200.00"), D("50.00"))
    assert after.pending == 0
    [record] = settlements(service, bill_id)
    assert record.status == "posted"
    assert_ledger_balanced(service)


def test_repaying_on_time_records_the_credit_event_and_gives_the_line_back(service, his):
    person, line, bill_id, _ = story(service, his)
    pay(service, login(service, person), bill_id)
    with service.container.uow() as uow:
        decision = current_decision(uow.session, person.psn_no)
    assert decision is not None
    assert decision.event == "bill_repaid_on_time"
    assert decision.inputs["history"]["bills_on_time"] == 1
    assert decision.line == line


def test_a_balance_that_covers_the_share_settles_at_once_without_a_wallet(service, his):
    # The account is empty at close (so the bill waits) and covers the share when paid: a bill
    # it covered at close would have settled then (issue 16 item 4).
    person, _, bill_id, _ = story(service, his, balc="0.00")
    top_up(service, person.psn_no, "1000.00")
    response = pay(service, login(service, person), bill_id, wallet="alipay")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["payment"] is None
    assert body["status"] == "settled"
    assert body["setlinfo"]["acct_pay"] == "280.00"
    assert body["setlinfo"]["psn_cash_pay"] == "0.00"
    assert body["setlinfo"]["balc"] == "720.00"
    assert snapshot(service, person.psn_no).balc == D("720.00")
    assert_ledger_balanced(service)


def test_a_failed_wallet_moves_nothing_and_the_bill_stays_payable(service, his):
    person, _, bill_id, _ = story(service, his)
    before = snapshot(service, person.psn_no)
    set_behaviour(service, "fail")
    headers = login(service, person)

    response = pay(service, headers, bill_id)

    assert response.status_code == 201
    assert bill_row(service, bill_id).status == "billed"
    assert order_row(service, response.json()["payment"]["payment_id"]).status == "failed"
    assert snapshot(service, person.psn_no) == before
    [record] = settlements(service, bill_id)
    assert record.status == "voided"
    assert_ledger_balanced(service)
    # The behaviour was for one order: paying again succeeds.
    again = pay(service, headers, bill_id)
    assert again.status_code == 201
    assert bill_row(service, bill_id).status == "settled"
    assert sorted(s.status for s in settlements(service, bill_id)) == ["posted", "voided"]


def test_a_callback_delivered_five_times_and_out_of_order_settles_once(service, his):
    person, _, bill_id, _ = story(service, his)
    set_behaviour(service, "delay")
    body = pay(service, login(service, person), bill_id).json()
    order_id = body["payment"]["payment_id"]
    assert bill_row(service, bill_id).status == "paying"

    answers = [notify(service, order_id=order_id, amount=D("180.00"), seq=2) for _ in range(5)]
    answers.append(notify(service, order_id=order_id, amount=D("180.00"), status="FAIL", seq=3))
    answers.append(notify(service, order_id=order_id, amount=D("180.00"), seq=1))

    assert [a.status_code for a in answers] == [200] * 7
    assert all(a.json()["code"] == "SUCCESS" for a in answers)
    outcomes = [row.outcome for row in callback_log(service)]
    assert outcomes == ["applied", *["duplicate"] * 4, "ignored", "duplicate"]
    # The sandbox's own delayed callback, delivered late, changes nothing either.
    delivered = deliver_due_callbacks(service.container, include_delayed=True)
    assert [o.outcome for o in delivered] == ["duplicate"]
    assert [s.status for s in settlements(service, bill_id)] == ["posted"]
    assert bill_row(service, bill_id).status == "settled"
    after = snapshot(service, person.psn_no)
    assert after.outstanding == 0 and after.balc == 0
    assert after.wallet_posted == D("-180.00")
    assert_ledger_balanced(service)


def test_a_forged_callback_is_refused_recorded_and_changes_nothing(service, his):
    person, _, bill_id, _ = story(service, his)
    set_behaviour(service, "delay")
    order_id = pay(service, login(service, person), bill_id).json()["payment"]["payment_id"]
    before = snapshot(service, person.psn_no)

    forged = notify(service, order_id=order_id, amount=D("180.00"), secret="not-the-secret")
    unsigned = notify(service, order_id=order_id, amount=D("180.00"), signature="")

    assert forged.status_code == unsigned.status_code == 401
    assert forged.json()["code"] == "FAIL"
    assert forged.json()["error"]["code"] == "bad_signature"  # the service's envelope too
    log = callback_log(service)
    assert [(row.outcome, row.signature_ok, row.order_id) for row in log] == [
        ("bad_signature", False, order_id),
        ("bad_signature", False, order_id),
    ]
    assert bill_row(service, bill_id).status == "paying"
    assert order_row(service, order_id).status == "pending"
    assert snapshot(service, person.psn_no) == before
    # The genuine callback still settles it.
    assert notify(service, order_id=order_id, amount=D("180.00")).status_code == 200
    assert bill_row(service, bill_id).status == "settled"


def test_a_callback_for_the_wrong_amount_is_refused_and_recorded(service, his):
    person, _, bill_id, _ = story(service, his)
    set_behaviour(service, "delay")
    order_id = pay(service, login(service, person), bill_id).json()["payment"]["payment_id"]
    before = snapshot(service, person.psn_no)

    wrong = notify(service, order_id=order_id, amount=D("18.00"))

    assert wrong.status_code == 400
    assert wrong.json()["code"] == "FAIL"
    assert wrong.json()["error"]["code"] == "amount_mismatch"
    assert [row.outcome for row in callback_log(service)] == ["amount_mismatch"]
    assert order_row(service, order_id).status == "pending"
    assert snapshot(service, person.psn_no) == before


def test_a_callback_for_an_unknown_order_or_a_malformed_body_is_refused(service, his):
    unknown = notify(service, order_id="PY-NOPE", amount=D("1.00"))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_order"
    malformed = service.client.post(
        "/v1/wallets/wechat/notify",
        content=b"{}",
        headers={"X-Wallet-Signature": __import__("hashlib").sha256(b"").hexdigest()},
    )
    assert malformed.status_code == 401  # unsigned garbage never gets parsed
    assert [row.outcome for row in callback_log(service)] == ["unknown_order", "bad_signature"]


def test_a_settled_bill_cannot_be_paid_again(service, his):
    person, _, bill_id, _ = story(service, his)
    headers = login(service, person)
    assert pay(service, headers, bill_id).status_code == 201
    again = pay(service, headers, bill_id)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "bill_settled"
    assert len(settlements(service, bill_id)) == 1


def test_a_bill_being_paid_cannot_be_paid_a_second_time(service, his):
    person, _, bill_id, _ = story(service, his)
    set_behaviour(service, "delay")
    headers = login(service, person)
    first = pay(service, headers, bill_id).json()
    second = pay(service, headers, bill_id, wallet="alipay")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "bill_not_payable"
    assert second.json()["error"]["payment_id"] == first["payment"]["payment_id"]


def test_a_retry_with_the_same_idempotency_key_changes_nothing(service, his):
    person, _, bill_id, _ = story(service, his)
    headers = login(service, person)
    first = pay(service, headers, bill_id, key="pay-once")
    again = pay(service, headers, bill_id, key="pay-once")
    assert again.status_code == first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(settlements(service, bill_id)) == 1


def test_a_patient_cannot_pay_or_see_someone_elses_bill(service, his):
    _, _, bill_id, _ = story(service, his)
    other, _ = service.enrol()
    response = pay(service, login(service, other), bill_id)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert pay(service, {}, bill_id).status_code == 401


def test_paying_an_overdue_bill_settles_it_late_and_unfreezes_at_a_lower_line(service, his):
    person, line, bill_id, _ = story(service, his)
    service.advance(hours=80)
    with service.container.uow() as uow:
        bill = uow.session.get(Bill, bill_id)
        bill.status = "overdue"  # what the overdue sweep does (its own tests cover it)
        bill.overdue_at = bill.due_at
        uow.commit()
    response = pay(service, login(service, person), bill_id)
    assert response.status_code == 201, response.text
    assert bill_row(service, bill_id).status == "settled_late"
    with service.container.uow() as uow:
        decision = current_decision(uow.session, person.psn_no)
        events = uow.session.scalars(select(Bill.status)).all()
    assert decision.event == "overdue_bill_repaid"
    assert decision.inputs["history"]["bills_late"] == 1
    assert decision.line == max(line - 100, D(600))
    assert events == ["settled_late"]
    assert snapshot(service, person.psn_no).available == decision.line


def test_the_sandbox_behaviour_route_refuses_an_unknown_behaviour(service):
    response = service.client.post("/sandbox/v1/wallets/wechat/behaviour", json={"next": "explode"})
    assert response.status_code == 422
    unknown = service.client.post("/sandbox/v1/wallets/paypal/behaviour", json={"next": "fail"})
    assert unknown.status_code == 422


def test_bills_due_in_the_future_pay_on_time_even_after_the_clock_moves(service, his):
    person, _, bill_id, _ = story(service, his)
    service.advance(hours=71)
    pay(service, login(service, person), bill_id)
    bill = bill_row(service, bill_id)
    assert bill.status == "settled"
    assert bill.settled_at - bill.closed_at == timedelta(hours=71)
