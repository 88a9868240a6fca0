"""What the pending-orders sweep costs: the provider is asked about the whole page in one read
transaction, holding no lock, and only the orders its answers settle are locked and written.

Counted at the driver as ``test_payment_statements`` counts a payment. Before, each order was
locked (its bill, order and settlement) and the provider asked under those locks in a
transaction of its own, whatever the answer: an order left pending cost a transaction and a
lock, and kept its bill's callback and payments waiting for the outside call.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from settlement.adapters.wallet_tables import SandboxWalletOrder
from settlement.foundation.sweep_failures import SweepFailure
from settlement.scheduler.sweeps import sweep_pending_orders
from settlement.scheduler.wallet_orders import sweep as wallet_orders_sweep
from settlement.usecases.paying.payments import start_payment
from tests.bench.support.statements import StatementLog
from tests.harness import Service, build_service
from tests.integration.payments.support import HEALTH_ADVICE, bill_for, order_row, set_behaviour

ORDERS = 3
VERBS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


def _pending_orders(service: Service) -> list[str]:
    """``ORDERS`` payments whose callbacks wait (the sandbox wallet set to ``delay``), due a
    query."""
    his = service.add_hospital("HSWEEP", level=3)
    set_behaviour(service, "delay", repeat=True)
    orders = []
    for _ in range(ORDERS):
        person, _ = service.enrol(balc="0.00")
        bill_id, _ = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30", "1"))
        with service.container.uow() as uow:
            started = start_payment(
                uow,
                container=service.container,
                bill_id=bill_id,
                payer_psn_no=person.psn_no,
                provider="wechat",
            )
            uow.commit()
        orders.append(started.payment.payment_id)
    service.advance(minutes=16)
    return orders


def test_orders_the_provider_leaves_pending_are_neither_locked_nor_written(
    engine: Engine, statement_log: StatementLog
):
    service = build_service(engine)
    orders = _pending_orders(service)
    with service.container.uow() as uow:  # the provider reports other amounts: left pending
        uow.session.execute(
            update(SandboxWalletOrder).values(amount_fen=SandboxWalletOrder.amount_fen + 1)
        )
        uow.commit()
    before = statement_log.snapshot()

    swept = sweep_pending_orders(service.container, service.clock.now())

    tally = statement_log.snapshot().since(before)
    assert swept.counts == {"amount_mismatch": ORDERS}
    assert tally.transactions == 1, tally.counts  # the page and the answers, read together
    # The page, then one answer each; nothing locked, nothing written.
    work = {shape: n for shape, n in tally.counts.items() if shape.split()[0] in VERBS}
    assert work == {"SELECT wallet_orders": 1, "SELECT sandbox_wallet_orders": ORDERS}, work
    assert all(order_row(service, order).status == "pending" for order in orders)


def test_orders_the_provider_settles_are_each_settled_in_a_transaction_of_their_own(
    engine: Engine, statement_log: StatementLog
):
    service = build_service(engine)
    orders = _pending_orders(service)
    before = statement_log.snapshot()

    swept = sweep_pending_orders(service.container, service.clock.now())

    tally = statement_log.snapshot().since(before)
    assert swept.counts == {"succeeded": ORDERS} and sorted(swept.ids) == sorted(orders)
    assert tally.transactions == 1 + ORDERS, tally.counts
    assert all(order_row(service, order).status == "succeeded" for order in orders)


def test_an_order_the_provider_cannot_be_asked_about_is_recorded_and_the_others_settle(
    engine: Engine, monkeypatch
):
    service = build_service(engine)
    orders = _pending_orders(service)
    asked = wallet_orders_sweep.provider_answer

    def provider_answer(wallet, order_id):
        if order_id == orders[1]:
            raise TimeoutError("the provider did not answer")
        return asked(wallet, order_id)

    monkeypatch.setattr(wallet_orders_sweep, "provider_answer", provider_answer)

    swept = sweep_pending_orders(service.container, service.clock.now())

    assert swept.counts == {"succeeded": ORDERS - 1, "error": 1}
    assert sorted(swept.ids) == sorted([orders[0], orders[2]])
    assert order_row(service, orders[1]).status == "pending"
    with service.container.uow() as uow:
        failures = uow.session.execute(
            select(SweepFailure.sweep, SweepFailure.item_id, SweepFailure.error_class)
        ).all()
    assert [tuple(failure) for failure in failures] == [
        ("wallet_orders", orders[1], "TimeoutError")
    ]
