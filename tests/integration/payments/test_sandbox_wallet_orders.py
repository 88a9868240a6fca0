"""The sandbox wallet's orders: an order id is opened once, whatever the retries."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from settlement.adapters.wallet_tables import SandboxWalletCallback
from settlement.adapters.wallets import set_behaviour
from settlement.usecases.paying.service import wallet_for


def test_an_order_id_opened_twice_answers_the_first_reference_and_uses_the_behaviour_once(
    service,
):
    container = service.container
    with container.uow() as uow:
        now = container.clock.now()
        set_behaviour(uow.session, provider="wechat", next_behaviour="fail", repeat=False, now=now)
        wallet = wallet_for(container, uow.session, "wechat")
        first = wallet.create_order("PY1", Decimal("1.00"), "first")
        again = wallet.create_order("PY1", Decimal("1.00"), "first, again")
        other = wallet.create_order("PY2", Decimal("2.00"), "second")
        uow.commit()

    assert first == again != other
    with container.uow() as uow:
        wallet = wallet_for(container, uow.session, "wechat")
        answered = {order_id: wallet.query(order_id) for order_id in ("PY1", "PY2")}
        callbacks = uow.session.scalar(
            select(func.count()).where(SandboxWalletCallback.order_id.in_(("PY1", "PY2")))
        )
    # The one "fail" was the first order's; the repeat neither used it again nor sent twice.
    assert {k: (v.status if v else None) for k, v in answered.items()} == {
        "PY1": "failed",
        "PY2": "succeeded",
    }
    assert callbacks == 2
