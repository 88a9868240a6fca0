"""Wallet orders whose callback never came: the scheduler's tick asks the provider after the
policy's wait (15 minutes in seeds/scheme.toml) and confirms or fails them like a callback."""

from __future__ import annotations

from sqlalchemy import delete, update

from settlement.adapters.wallet_tables import SandboxWalletCallback, SandboxWalletOrder
from settlement.scheduler import run_due
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    callback_log,
    login,
    order_row,
    pay,
    set_behaviour,
    settlements,
    snapshot,
)


def delayed_payment(service, his):
    """A bill paid with the sandbox wallet set to ``delay``: its callback waits in the queue."""
    person, _ = service.enrol(balc="100.00")
    before = snapshot(service, person.psn_no)
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))
    headers = login(service, person)
    set_behaviour(service, "delay")
    paid = pay(service, headers, bill_id)
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["status"] == "pending"
    return person, headers, bill_id, paid.json()["payment"]["payment_id"], before


def bill_status(service, headers, bill_id: str) -> str:
    response = service.client.get(f"/v1/bills/{bill_id}", headers=headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def test_an_order_without_a_callback_is_confirmed_by_asking_the_provider(service, his):
    person, headers, bill_id, order_id, _ = delayed_payment(service, his)

    service.advance(minutes=14)
    early = run_due(service.container)
    assert early.sweeps["wallet_orders"].count == 0
    assert bill_status(service, headers, bill_id) == "paying"

    service.advance(minutes=2)
    report = run_due(service.container)

    assert report.sweeps["wallet_orders"].ids == [order_id]
    assert report.sweeps["wallet_orders"].counts == {"succeeded": 1}
    assert bill_status(service, headers, bill_id) == "settled"
    assert order_row(service, order_id).status == "succeeded"
    assert snapshot(service, person.psn_no).outstanding == 0
    # The late callback arrives after all: recorded, and it changes nothing.
    delivered = service.client.post("/sandbox/v1/scheduler/run")
    assert delivered.status_code == 200
    assert [row.outcome for row in callback_log(service)] == ["duplicate"]
    assert [s.status for s in settlements(service, bill_id)] == ["posted"]
    # Nothing is left to ask about.
    assert run_due(service.container).sweeps["wallet_orders"].count == 0
    assert_ledger_balanced(service)


def test_an_order_the_provider_reports_failed_gives_everything_back(service, his):
    person, headers, bill_id, order_id, before = delayed_payment(service, his)
    with service.container.uow() as uow:
        # The provider's side: the payment failed and its callback was lost on the way.
        uow.session.execute(
            update(SandboxWalletOrder)
            .where(SandboxWalletOrder.order_id == order_id)
            .values(status="failed")
        )
        uow.session.execute(delete(SandboxWalletCallback))
        uow.commit()
    service.advance(minutes=20)

    report = run_due(service.container)

    assert report.sweeps["wallet_orders"].counts == {"failed": 1}
    assert bill_status(service, headers, bill_id) == "billed"
    assert order_row(service, order_id).status == "failed"
    after = snapshot(service, person.psn_no)
    assert (after.balc, after.deductible_used, after.hifp_paid, after.pending) == (
        before.balc,
        before.deductible_used,
        before.hifp_paid,
        before.pending,
    )
    assert after.outstanding == 330
    # The bill is payable again.
    assert pay(service, headers, bill_id).status_code == 201
    assert bill_status(service, headers, bill_id) == "settled"
    assert_ledger_balanced(service)


def test_an_order_the_provider_does_not_know_is_failed(service, his):
    _, headers, bill_id, order_id, _ = delayed_payment(service, his)
    with service.container.uow() as uow:
        uow.session.execute(delete(SandboxWalletCallback))
        uow.session.execute(
            delete(SandboxWalletOrder).where(SandboxWalletOrder.order_id == order_id)
        )
        uow.commit()
    service.advance(minutes=16)

    assert run_due(service.container).sweeps["wallet_orders"].counts == {"failed": 1}
    assert bill_status(service, headers, bill_id) == "billed"
    assert_ledger_balanced(service)


def test_a_provider_amount_that_differs_is_left_pending(service, his):
    _, headers, bill_id, order_id, _ = delayed_payment(service, his)
    with service.container.uow() as uow:
        uow.session.execute(
            update(SandboxWalletOrder)
            .where(SandboxWalletOrder.order_id == order_id)
            .values(amount_fen=SandboxWalletOrder.amount_fen + 1)
        )
        uow.commit()
    service.advance(minutes=16)

    assert run_due(service.container).sweeps["wallet_orders"].counts == {"amount_mismatch": 1}
    assert bill_status(service, headers, bill_id) == "paying"
    assert order_row(service, order_id).status == "pending"
