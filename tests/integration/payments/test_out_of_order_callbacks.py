"""Issue 17, item 3: a SUCCESS after a FAIL is settled by the provider's own record. Money taken on
an order recorded failed pays the bill if it is still owed, else goes back through the wallet;
never silently kept; every case is recorded for reconciliation, and replays change nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from settlement.adapters.wallet_tables import SandboxWalletRefund
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
)

D = Decimal


def failed_then_paid_by_the_provider(service, his):
    """A 330.00 bill paid with the wallet on ``delay`` (the provider takes 180.00 and holds its
    callback); a signed FAIL (seq 1) arrives first and marks the order failed."""
    person, _ = service.enrol(balc="100.00")
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))
    headers = login(service, person)
    set_behaviour(service, "delay")
    order_id = pay(service, headers, bill_id).json()["payment"]["payment_id"]
    failed = notify(service, order_id=order_id, amount=D("180.00"), status="FAIL", seq=1)
    assert failed.status_code == 200 and failed.json()["message"].startswith("applied")
    assert order_row(service, order_id).status == "failed"
    assert bill_row(service, bill_id).status == "billed"
    return person, headers, bill_id, order_id


def anomalies(service, **params):
    answer = service.client.get("/admin/v1/wallet-anomalies", params=params, headers=service.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()["anomalies"]


def refunds(service) -> Decimal:
    with service.container.uow() as uow:
        fen = uow.session.scalar(select(func.coalesce(func.sum(SandboxWalletRefund.amount_fen), 0)))
        return D(int(fen or 0)) / 100


def test_a_success_after_a_fail_pays_the_bill_still_owed_exactly_once(service, his):
    person, _, bill_id, order_id = failed_then_paid_by_the_provider(service, his)
    before = snapshot(service, person.psn_no)

    late = notify(service, order_id=order_id, amount=D("180.00"), status="SUCCESS", seq=2)

    assert late.status_code == 200, late.text
    assert late.json()["code"] == "SUCCESS"
    assert late.json()["message"].startswith("reconciled")
    assert bill_row(service, bill_id).status == "settled"
    assert order_row(service, order_id).status == "succeeded"
    posted = [s for s in settlements(service, bill_id) if s.status == "posted"]
    assert len(posted) == 1 and posted[0].order_id == order_id
    assert posted[0].psn_cash_pay_fen == 18000
    after = snapshot(service, person.psn_no)
    assert after.outstanding == 0
    assert after.wallet_posted == before.wallet_posted - D("180.00")
    assert refunds(service) == 0
    [anomaly] = anomalies(service)
    assert anomaly | {"id": 0, "created_at": ""} == {
        "id": 0,
        "provider": "wechat",
        "order_id": order_id,
        "bill_id": bill_id,
        "recorded": "failed",
        "reported": "succeeded",
        "provider_status": "succeeded",
        "amount": "180.00",
        "resolution": "applied",
        "setl_id": posted[0].setl_id,
        "refund_id": None,
        "created_at": "",
    }
    assert_ledger_balanced(service)

    # Replays and the provider's own delayed callback change nothing.
    again = [
        notify(service, order_id=order_id, amount=D("180.00"), status="SUCCESS", seq=2),
        notify(service, order_id=order_id, amount=D("180.00"), status="FAIL", seq=1),
    ]
    delivered = deliver_due_callbacks(service.container, include_delayed=True)

    assert [a.status_code for a in again] == [200, 200]
    assert [row.outcome for row in callback_log(service)][-3:] == ["duplicate"] * 3
    assert [o.outcome for o in delivered] == ["duplicate"]
    assert len([s for s in settlements(service, bill_id) if s.status == "posted"]) == 1
    assert snapshot(service, person.psn_no) == after
    assert len(anomalies(service)) == 1
    assert refunds(service) == 0
    assert_ledger_balanced(service)


def test_a_success_after_a_fail_on_a_bill_paid_another_way_is_refunded_through_the_wallet(
    service, his
):
    person, headers, bill_id, order_id = failed_then_paid_by_the_provider(service, his)
    paid_again = pay(service, headers, bill_id, "alipay")
    assert paid_again.status_code == 201, paid_again.text
    assert bill_row(service, bill_id).status == "settled"
    before = snapshot(service, person.psn_no)

    late = notify(service, order_id=order_id, amount=D("180.00"), status="SUCCESS", seq=2)

    assert late.status_code == 200 and late.json()["message"].startswith("reconciled")
    assert refunds(service) == D("180.00")
    assert order_row(service, order_id).status == "failed"
    assert order_row(service, order_id).refunded_fen == 18000
    assert snapshot(service, person.psn_no) == before
    [anomaly] = anomalies(service)
    assert (anomaly["resolution"], anomaly["refund_id"]) == ("refunded", f"anomaly:{order_id}")
    assert anomaly["setl_id"] is None

    # A replay (and the sandbox's delayed SUCCESS) neither refunds again nor records again.
    notify(service, order_id=order_id, amount=D("180.00"), status="SUCCESS", seq=2)
    deliver_due_callbacks(service.container, include_delayed=True)
    assert refunds(service) == D("180.00")
    assert len(anomalies(service)) == 1
    assert snapshot(service, person.psn_no) == before
    assert_ledger_balanced(service)


def test_a_success_the_provider_does_not_confirm_keeps_the_order_failed(service, his):
    person, _ = service.enrol(balc="0.00")
    bill_id, _ = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30", "1"))
    set_behaviour(service, "fail")
    order_id = pay(service, login(service, person), bill_id).json()["payment"]["payment_id"]
    assert order_row(service, order_id).status == "failed"

    forged_late = notify(service, order_id=order_id, amount=D("30.00"), status="SUCCESS", seq=2)

    assert forged_late.status_code == 200
    assert forged_late.json()["message"].startswith("ignored")
    assert bill_row(service, bill_id).status == "billed"
    assert [a["resolution"] for a in anomalies(service)] == ["kept"]
    assert refunds(service) == 0


def test_the_anomaly_list_is_for_administrators_only(service):
    assert service.client.get("/admin/v1/wallet-anomalies").status_code == 401
