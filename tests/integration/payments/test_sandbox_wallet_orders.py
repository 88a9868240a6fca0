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


def test_a_repeated_behaviour_applies_to_every_order_and_a_one_off_delay_to_the_next_only(
    service,
):
    container = service.container
    with container.uow() as uow:
        now = container.clock.now()
        session = uow.session
        set_behaviour(session, provider="wechat", next_behaviour="fail", repeat=True, now=now)
        wallet = wallet_for(container, session, "wechat")
        wallet.create_order("PY1", Decimal("1.00"), "first")
        wallet.create_order("PY2", Decimal("2.00"), "second")
        behaviour = set_behaviour(
            session, provider="wechat", next_behaviour="delay", repeat=False, now=now
        )
        wallet.create_order("PY3", Decimal("3.00"), "third")
        wallet.create_order("PY4", Decimal("4.00"), "fourth")
        # The session's own copy of the behaviour reads what the orders left: used up.
        assert (behaviour.next, behaviour.repeat) == ("succeed", False)
        uow.commit()

    with container.uow() as uow:
        wallet = wallet_for(container, uow.session, "wechat")
        statuses = {f"PY{n}": wallet.query(f"PY{n}") for n in range(1, 5)}
        delayed = dict(
            uow.session.execute(
                select(SandboxWalletCallback.order_id, SandboxWalletCallback.delayed)
            ).all()
        )
    assert {k: (v.status if v else None) for k, v in statuses.items()} == {
        "PY1": "failed",
        "PY2": "failed",
        "PY3": "succeeded",
        "PY4": "succeeded",
    }
    assert delayed == {"PY1": False, "PY2": False, "PY3": True, "PY4": False}
    # A failed order's callback says so, signed as the provider signs.
    with container.uow() as uow:
        bodies = dict(
            uow.session.execute(
                select(SandboxWalletCallback.order_id, SandboxWalletCallback.body)
            ).all()
        )
    assert '"status":"FAIL"' in bodies["PY1"] and '"status":"SUCCESS"' in bodies["PY3"]
