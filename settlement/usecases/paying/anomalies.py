"""A wallet outcome contradicting the recorded one: ask the provider, then apply, refund or keep.

Callbacks can arrive out of order (a FAIL with ``seq`` 1 after the SUCCESS with ``seq`` 2 was
delayed, or a FAIL first and then the SUCCESS). The first terminal outcome is applied; a later
one that contradicts it is settled by the provider's own record (``WalletProvider.query``), as
:func:`settlement.usecases.paying.decide.resolve_contradiction` decides. Money taken on an order
recorded failed is never kept silently: it pays the bill if the bill still owes exactly that
from the wallet, else it goes back through the wallet. Every case is one ``wallet_anomalies``
row (one per order and reported outcome, so a replay changes nothing), listed for operators at
``GET /admin/v1/wallet-anomalies``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from insurance.money import from_fen, to_fen
from settlement.billing.payment_tables import (
    BillSettlement,
    WalletAnomaly,
    WalletCallbackLog,
    WalletOrder,
)
from settlement.billing.tables import Bill
from settlement.usecases.paying import decide, service
from settlement.usecases.paying.context import PayingContext

logger = logging.getLogger("shuxin.payments")


@dataclass(frozen=True)
class Reconciled:
    """The callback's answer: ``duplicate`` (already reconciled), ``ignored`` (the provider
    confirms what was recorded) or ``reconciled`` (applied, refunded or left to an operator)."""

    outcome: str
    message: str


def reconcile(
    session: Session,
    container: PayingContext,
    bill: Bill,
    order: WalletOrder,
    callback: decide.Callback,
    *,
    now: datetime,
) -> Reconciled:
    """Settle a callback contradicting ``order``'s recorded outcome (bill and order locked)."""
    reported = "succeeded" if callback.succeeded else "failed"
    if _applied_before(session, callback):
        return Reconciled("duplicate", f"order {order.order_id}: this callback was applied before")
    done = session.scalars(
        select(WalletAnomaly).where(
            WalletAnomaly.order_id == order.order_id, WalletAnomaly.reported == reported
        )
    ).first()
    if done is not None:
        return Reconciled("duplicate", f"order {order.order_id}: already {done.resolution}")
    answer = service.wallet_for(container, session, order.provider).query(order.order_id)
    record = session.get(BillSettlement, order.setl_id)
    assert record is not None
    cash_now = _cash_now(session, container, bill, payer_psn_no=record.payer_psn_no)
    case = decide.Contradiction(
        recorded=order.status,
        provider_status=answer.status if answer is not None else "unknown",
        provider_amount_fen=to_fen(answer.amount) if answer is not None else None,
        order_amount_fen=order.amount_fen,
        bill_owed=cash_now is not None,
        cash_now_fen=cash_now,
    )
    resolution = decide.resolve_contradiction(case)
    anomaly = WalletAnomaly(
        provider=order.provider,
        order_id=order.order_id,
        bill_id=bill.bill_id,
        recorded=order.status,
        reported=reported,
        provider_status=case.provider_status,
        amount_fen=order.amount_fen,
        resolution=resolution,
        detail=f"{callback.provider_txn_id[:64]} seq {callback.seq}",
        created_at=now,
    )
    if resolution == "applied":
        anomaly.setl_id = _apply(session, container, bill, order, record)
    elif resolution == "refunded":
        anomaly.refund_id = _refund(session, container, order, now=now)
    session.add(anomaly)
    session.flush()
    logger.warning(
        "wallet order %s: %s reported after %s; the provider says %s: %s",
        order.order_id,
        reported,
        anomaly.recorded,
        case.provider_status,
        resolution,
    )
    if resolution == "kept":  # the provider confirms what was recorded: the callback was stale
        return Reconciled("ignored", f"order {order.order_id} is already {order.status}: kept")
    return Reconciled(
        "reconciled", f"order {order.order_id}: {reported} after {anomaly.recorded}: {resolution}"
    )


def _applied_before(session: Session, callback: decide.Callback) -> bool:
    """The same callback (order, ``seq``, outcome) was applied or reconciled before: a replay."""
    log = WalletCallbackLog
    found = session.scalar(
        select(log.id)
        .where(
            log.order_id == callback.order_id,
            log.seq == callback.seq,
            log.status == ("SUCCESS" if callback.succeeded else "FAIL"),
            log.outcome.in_(("applied", "reconciled")),
        )
        .limit(1)
    )
    return found is not None


def _cash_now(
    session: Session, container: PayingContext, bill: Bill, *, payer_psn_no: str
) -> int | None:
    """What paying the bill now would take from the wallet; ``None`` when it cannot be paid."""
    if bill.status not in decide.PAYABLE:
        return None
    _, split = service.split_now(session, container, bill, payer_psn_no=payer_psn_no)
    return to_fen(split.setlinfo.psn_cash_pay)


def _apply(
    session: Session,
    container: PayingContext,
    bill: Bill,
    order: WalletOrder,
    failed: BillSettlement,
) -> str:
    """The money on ``order`` pays the bill: a new settlement, confirmed at once."""
    inputs, split = service.split_now(session, container, bill, payer_psn_no=failed.payer_psn_no)
    result = service.take(
        session,
        container,
        bill,
        inputs,
        split,
        payer_psn_no=failed.payer_psn_no,
        provider=order.provider,
        channel=failed.channel,
        expected=None,
        paid_order=order,
    )
    return result.settlement.setl_id


def _refund(
    session: Session, container: PayingContext, order: WalletOrder, *, now: datetime
) -> str:
    """Give the money on ``order`` back through the wallet (idempotent by its refund id)."""
    refund_id = f"anomaly:{order.order_id}"
    service.wallet_for(container, session, order.provider).refund(
        order.order_id, refund_id, from_fen(order.amount_fen)
    )
    order.refunded_fen = order.amount_fen
    order.updated_at = now
    return refund_id


def recent_anomalies(
    session: Session, *, resolution: str | None = None, limit: int = 100
) -> list[WalletAnomaly]:
    """The wallet anomalies, newest first, optionally only those resolved one way."""
    query = select(WalletAnomaly).order_by(WalletAnomaly.id.desc()).limit(limit)
    if resolution is not None:
        query = query.where(WalletAnomaly.resolution == resolution)
    return list(session.scalars(query))
