"""The pending-orders sweep racing the provider's own callback on PostgreSQL: whichever takes
the bill's lock first applies the outcome, the other finds the order settled, and the money
moves once."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from settlement.scheduler.sweeps import sweep_pending_orders
from settlement.usecases.paying.payments import start_payment
from tests.integration.payments.support import (
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    callback_log,
    notify,
    order_row,
    set_behaviour,
    settlements,
    snapshot,
)
from tests.races import run_together

ROUNDS = 4
CALLBACKS = 3


@pytest.mark.postgres
def test_a_callback_racing_the_pending_orders_sweep_settles_the_order_once(
    service, his, postgres_only
):
    container = service.container
    set_behaviour(service, "delay", repeat=True)
    wallet_before = None
    for _ in range(ROUNDS):
        person, line = service.enrol(balc="0.00")
        bill_id, _ = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30", "1"))
        if wallet_before is None:
            wallet_before = snapshot(service, person.psn_no).wallet_posted
        with container.uow() as uow:
            order_id = start_payment(
                uow,
                container=container,
                bill_id=bill_id,
                payer_psn_no=person.psn_no,
                provider="wechat",
            ).payment.payment_id
            uow.commit()
        service.advance(minutes=16)  # the order is now due a query (the earlier ones are done)
        now = service.clock.now()
        callbacks = [
            lambda order_id=order_id: (
                notify(service, order_id=order_id, amount=Decimal("30.00")).status_code
            )
        ] * CALLBACKS

        swept, *answers = run_together([partial(sweep_pending_orders, container, now), *callbacks])

        assert answers == [200] * CALLBACKS
        applied = [row.outcome for row in callback_log(service) if row.order_id == order_id]
        assert set(applied) <= {"applied", "duplicate"}, applied
        # Exactly one of them applied the outcome; the others found it applied.
        assert (order_id in swept.ids) + applied.count("applied") == 1, (swept, applied)
        assert swept.counts.get("error", 0) == 0, swept
        assert order_row(service, order_id).status == "succeeded"
        assert [s.status for s in settlements(service, bill_id)] == ["posted"]
        assert bill_row(service, bill_id).status == "settled"
        after = snapshot(service, person.psn_no)
        assert after.outstanding == 0 and after.available == line
    # The wallet's clearing account took each bill's 30.00 once.
    assert wallet_before is not None
    wallet_after = snapshot(service, person.psn_no).wallet_posted
    assert abs(wallet_after - wallet_before) == Decimal("30.00") * ROUNDS
    assert_ledger_balanced(service)
