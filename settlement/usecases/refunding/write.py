"""Writing a refund's plan (``settlement.usecases.refunding.decide``) in the caller's transaction.

Set-based: the refunded lines' charges are reversed in one ledger batch and the lines marked in
one UPDATE, however many; the bill's move, its history row and (after settlement) the
settlement that replaces the old one, the accumulators and the wallet order are sent together
(``settlement.foundation.writes.write_all``: one statement on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from insurance.money import to_fen
from settlement.billing.accumulators import accumulators_stored
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill, FeeLine
from settlement.foundation.clock import Clock
from settlement.foundation.writes import Write, inserted, updated, updated_among, write_all
from settlement.ledger.ledger import create_transfers
from settlement.usecases.movements import journal
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.payments import wallet_for
from settlement.usecases.paying.write import bill_move, source_kinds
from settlement.usecases.refunding.decide import AfterPlan, BeforePlan


def reverse_charges(
    session: Session, plan: BeforePlan, chosen: Sequence[FeeLine], *, clock: Clock, now: datetime
) -> None:
    """Before settlement: reverse the refunded lines' charges (one batch) and mark the lines
    refunded (one UPDATE). The ids derive from the locked bill's holds, so no concurrent writer
    can take them (no savepoint)."""
    create_transfers(session, plan.reversals, clock=clock, ids_locked=True)
    mark_refunded(session, chosen, now)


def mark_refunded(session: Session, chosen: Sequence[FeeLine], now: datetime) -> None:
    """Mark the chosen lines refunded, in one UPDATE however many; the loaded lines take the new
    values too, as the caller reads them next."""
    if chosen:
        session.execute(
            update(FeeLine)
            .where(FeeLine.id.in_([line.id for line in chosen]))
            .values(status="refunded", changed_at=now)
            .execution_options(synchronize_session="evaluate")
        )


def move_bill(
    session: Session,
    bill: Bill,
    *,
    target: str,
    amount_fen: int,
    detail: dict[str, Any],
    now: datetime,
    also: Sequence[Write] = (),
    **columns: Any,
) -> None:
    """The refund's bill: its lines' total less ``amount_fen``, moved to ``target`` with its
    history row, and ``columns``; ``also``: writes sent with them."""
    session.flush()  # what the refund changed through the session first: the bill's version
    moved = bill_move(
        bill,
        target,
        kind="refund",
        now=now,
        amount_fen=amount_fen,
        detail=detail,
        medfee_sumamt_fen=bill.medfee_sumamt_fen - amount_fen,
        **columns,
    )
    write_all(session, [*also, *moved])


def write_after(
    session: Session,
    container: PayingContext,
    bill: Bill,
    record: BillSettlement,
    plan: AfterPlan,
    chosen: Sequence[FeeLine],
    now: datetime,
) -> str | None:
    """After settlement: the one linked ledger batch, the personal accounts' movements, the
    wallet's refund, then the old settlement reversed and, together, the lines marked refunded,
    the accumulators, the replacement settlement, the wallet order and the bill's move.
    Returns the wallet refund's id, if the wallet got money back."""
    create_transfers(
        session, plan.batch, clock=container.clock, open_missing=source_kinds(plan.accounts)
    )
    journal.move(session, container.insurance_platform(session), plan.intents, now=now)
    refund_id, order_written = _refund_wallet(session, container, record, plan, now)
    # Alone first: the partial unique index allows one live settlement per bill.
    write_all(session, [updated(record, status="reversed", reversed_at=now)])
    writes = [
        *_marked_refunded(chosen, now),
        accumulators_stored(
            session, psn_no=bill.psn_no, accumulators=plan.new.accumulators, now=now
        ),
        *order_written,
    ]
    if plan.setl_id is not None:
        writes.append(inserted(session, _replacement(bill, record, plan, now)))
    columns = {}
    if bill.fund_settlement is not None:  # visit_end: the fund's share is the new split's now
        columns["fund_settled_fen"] = to_fen(plan.new_pay["hifp"])
    move_bill(
        session,
        bill,
        target=plan.target,
        amount_fen=plan.amount_fen,
        detail=plan.detail,
        now=now,
        also=writes,
        **columns,
    )
    return refund_id


def _marked_refunded(chosen: Sequence[FeeLine], now: datetime) -> list[Write]:
    """:func:`mark_refunded` as a write sent with others."""
    if not chosen:
        return []

    def keep() -> None:
        for line in chosen:
            set_committed_value(line, "status", "refunded")
            set_committed_value(line, "changed_at", now)

    refunded = {"status": "refunded", "changed_at": now}
    ids = [line.id for line in chosen]
    return [updated_among(FeeLine, "id", ids, refunded, then=keep, what=f"refund {len(ids)} lines")]


def _refund_wallet(
    session: Session,
    container: PayingContext,
    record: BillSettlement,
    plan: AfterPlan,
    now: datetime,
) -> tuple[str | None, list[Write]]:
    """Give the wallet back its part (the provider's refund, under the order's lock); the
    order's refunded total, to write with the rest."""
    amount = plan.wallet_refund
    if amount <= 0 or record.provider is None or record.order_id is None:
        return None, []
    order = session.get(WalletOrder, record.order_id, with_for_update=True)
    assert order is not None
    refund_id = f"RF{record.setl_id}"
    wallet_for(container, session, record.provider).refund(order.order_id, refund_id, amount)
    return refund_id, [
        updated(order, refunded_fen=order.refunded_fen + to_fen(amount), updated_at=now)
    ]


def _replacement(
    bill: Bill, record: BillSettlement, plan: AfterPlan, now: datetime
) -> BillSettlement:
    new, before = plan.new, plan.resettled.reversal.accumulators
    assert plan.setl_id is not None
    return BillSettlement(
        setl_id=plan.setl_id,
        bill_id=bill.bill_id,
        psn_no=bill.psn_no,
        payer_psn_no=record.payer_psn_no,
        status="posted",
        channel="resettle",
        provider=record.provider,
        order_id=record.order_id,
        setlinfo=new.setlinfo.as_dict(),
        medfee_sumamt_fen=to_fen(new.setlinfo.medfee_sumamt),
        hifp_pay_fen=to_fen(plan.new_pay["hifp"]),
        acct_own_pay_fen=to_fen(plan.new_pay["acct"]),
        acct_mulaid_pay_fen=to_fen(new.setlinfo.acct_mulaid_pay),
        psn_cash_pay_fen=to_fen(plan.new_pay["cash"]),
        lines=list(plan.remaining),
        hospital_level=record.hospital_level,
        psn_type=record.psn_type,
        visit_date=record.visit_date,
        policy_year=record.policy_year,
        deductible_before_fen=to_fen(before.deductible_used),
        hifp_paid_before_fen=to_fen(before.hifp_paid),
        balance_before_fen=to_fen(plan.resettled.reversal.balc),
        transfers=plan.legs,
        replaces_setl_id=record.setl_id,
        created_at=now,
        posted_at=now,
    )
