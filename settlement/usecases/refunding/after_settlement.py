"""A refund after settlement (2208 on a ``settled`` / ``settled_late`` bill): the settlement is
reversed and the remaining lines settled again from the same sources (see
``settlement.usecases.refunding.refunds`` for why), in one linked ledger batch
(:func:`settlement.usecases.refunding.decide.refund_batch`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from insurance.money import from_fen, quantize_fen, to_fen
from insurance.refund import Resettlement, resettle
from insurance.split import Settlement
from settlement.billing import bill_states
from settlement.billing.accumulators import accumulators_for, store_accumulators
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.ledger.ledger import create_transfers
from settlement.usecases.charging.visits import local_date, require_person
from settlement.usecases.family.sharing import shared_holds
from settlement.usecases.movements import journal
from settlement.usecases.movements.decide import Intent
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.decide import movement_key
from settlement.usecases.paying.payments import (
    change_status,
    live_settlement,
    lock_person,
    plan_legs,
    source_accounts,
    wallet_for,
)
from settlement.usecases.refunding.decide import (
    paid_by_source,
    refund_batch,
    returned,
    wallet_refusal,
)
from settlement.usecases.refunding.facts import (
    mutual_aid_now,
    posted_charges,
    rebuild_settlement,
    shares_without,
)
from settlement.usecases.refunding.result import RefundResult, refund_charges


@dataclass(frozen=True)
class _Resettled:
    """The settlement reversed, the one that replaces it, and what each source pays in both."""

    record: BillSettlement
    original: Settlement
    result: Resettlement
    old_pay: dict[str, Decimal]
    new_pay: dict[str, Decimal]

    @property
    def new(self) -> Settlement:
        return self.result.settlement


def after_settlement(
    session: Session,
    container: PayingContext,
    bill: Bill,
    visit: Visit,
    chosen: Sequence[FeeLine],
    reason: str,
    now: datetime,
) -> RefundResult:
    """Reverse the bill's settlement and settle the remaining lines again, in one transaction."""
    done = _resettle(session, container, bill, chosen, now)
    chosen_sns = {line.feedetl_sn for line in chosen}
    remaining = [sn for sn in done.record.lines if sn not in chosen_sns]
    new_setl_id = new_id("ST", now) if remaining else None
    new_legs: list[dict[str, Any]] = []
    if new_setl_id is not None:
        shares = shares_without(session, bill, chosen_sns)
        new_legs = plan_legs(new_setl_id, bill, done.new_pay, shares)
    create_transfers(
        session,
        refund_batch(
            bill.bill_id,
            charges=posted_charges(session, chosen, shared_holds(session, bill.mdtrt_id)),
            new_legs=new_legs,
            old_legs=done.record.transfers,
            accounts=_accounts(session, bill, done),
        ),
        clock=container.clock,
    )
    _move_personal_accounts(container, session, bill, done, now)
    wallet_refund_id = _refund_wallet(
        session, container, done.record, done.old_pay["cash"] - done.new_pay["cash"], now
    )
    done.record.status = "reversed"
    done.record.reversed_at = now
    session.flush()  # the partial unique index allows one live settlement per bill
    amount_fen = refund_charges(session, bill, chosen, now)
    if bill.fund_settlement is not None:  # visit_end: the fund's share is the new split's now
        bill.fund_settled_fen = to_fen(done.new_pay["hifp"])
    if new_setl_id is not None:
        session.add(_replacement(bill, done, new_setl_id, remaining, new_legs, now))
    target = bill.status if remaining else bill_states.REFUNDED
    detail = {
        "feedetl_sn": [line.feedetl_sn for line in chosen],
        "reason": reason,
        "reversed_setl_id": done.record.setl_id,
        "setl_id": new_setl_id,
    }
    change_status(
        session, bill, target, kind="refund", now=now, amount_fen=amount_fen, detail=detail
    )
    session.flush()
    return RefundResult(
        bill=bill,
        refunded=tuple(line.feedetl_sn for line in chosen),
        refunded_amount=from_fen(amount_fen),
        setlinfo=done.new.setlinfo.as_dict(),
        setl_id=new_setl_id,
        returned=returned(done.original.setlinfo, done.new.setlinfo),
        wallet_refund_id=wallet_refund_id,
    )


def _resettle(
    session: Session, container: PayingContext, bill: Bill, chosen: Sequence[FeeLine], now: datetime
) -> _Resettled:
    """Lock the accounts, rebuild the settlement to reverse and settle the rest again."""
    record = live_settlement(session, bill.bill_id)
    if record is None or record.status != "posted":
        raise ServiceError("conflict", f"bill {bill.bill_id} has no posted settlement to reverse")
    for psn_no in sorted({bill.psn_no, record.payer_psn_no}):
        lock_person(session, psn_no)  # both accounts, in psn_no order as payments lock them
    original = rebuild_settlement(container, session, record)
    person = require_person(container, session, bill.psn_no)
    accumulators = accumulators_for(
        session,
        person=person,
        policy_year=record.policy_year,
        current_year=original.policy.policy_year(local_date(container, now)),
    )
    result = resettle(
        original,
        refunded=[line.feedetl_sn for line in chosen],
        accumulators=accumulators,
        account_balance=quantize_fen(person.balc),
        relatives=mutual_aid_now(session, container, bill, record),
    )
    old_pay, new_pay = paid_by_source(original), paid_by_source(result.settlement)
    refusal = wallet_refusal(old_pay, new_pay)
    if refusal is not None:
        raise refusal
    return _Resettled(record, original, result, old_pay, new_pay)


def _accounts(session: Session, bill: Bill, done: _Resettled) -> dict[str, str]:
    # Mutual aid came from (and goes back to) the manager's own personal account.
    mulaid = done.old_pay["mulaid"] > 0 or done.new_pay["mulaid"] > 0
    return source_accounts(
        session,
        bill.psn_no,
        done.record.provider,
        mulaid_psn_no=done.record.payer_psn_no if mulaid else None,
    )


def _move_personal_accounts(
    container: PayingContext, session: Session, bill: Bill, done: _Resettled, now: datetime
) -> None:
    """The personal accounts and the accumulators: back what the old split took, less the new;
    the manager's account gets exactly what mutual aid no longer pays."""
    nets = [
        (bill.psn_no, done.old_pay["acct"] - done.new_pay["acct"]),
        (done.record.payer_psn_no, done.old_pay["mulaid"] - done.new_pay["mulaid"]),
    ]
    # Keyed by the settlement the refund replaces (replaced once): a retried refund asks the
    # platform with the same keys, so it moves each account at most once.
    replaced = done.record.setl_id
    journal.move(
        session,
        container.insurance_platform(session),
        [
            Intent(
                key=movement_key(replaced, "refund", psn_no),
                bill_id=bill.bill_id,
                purpose="refund",
                reference=replaced,
                psn_no=psn_no,
                direction="credit" if net > 0 else "debit",
                amount_fen=abs(to_fen(net)),
            )
            for psn_no, net in nets
            if net != 0
        ],
        now=now,
    )
    store_accumulators(session, psn_no=bill.psn_no, accumulators=done.new.accumulators, now=now)


def _replacement(
    bill: Bill,
    done: _Resettled,
    setl_id: str,
    remaining: list[str],
    legs: list[dict[str, Any]],
    now: datetime,
) -> BillSettlement:
    record, new, before = done.record, done.new, done.result.reversal.accumulators
    return BillSettlement(
        setl_id=setl_id,
        bill_id=bill.bill_id,
        psn_no=bill.psn_no,
        payer_psn_no=record.payer_psn_no,
        status="posted",
        channel="resettle",
        provider=record.provider,
        order_id=record.order_id,
        setlinfo=new.setlinfo.as_dict(),
        medfee_sumamt_fen=to_fen(new.setlinfo.medfee_sumamt),
        hifp_pay_fen=to_fen(done.new_pay["hifp"]),
        acct_own_pay_fen=to_fen(done.new_pay["acct"]),
        acct_mulaid_pay_fen=to_fen(new.setlinfo.acct_mulaid_pay),
        psn_cash_pay_fen=to_fen(done.new_pay["cash"]),
        lines=remaining,
        hospital_level=record.hospital_level,
        psn_type=record.psn_type,
        visit_date=record.visit_date,
        policy_year=record.policy_year,
        deductible_before_fen=to_fen(before.deductible_used),
        hifp_paid_before_fen=to_fen(before.hifp_paid),
        balance_before_fen=to_fen(done.result.reversal.balc),
        transfers=legs,
        replaces_setl_id=record.setl_id,
        created_at=now,
        posted_at=now,
    )


def _refund_wallet(
    session: Session,
    container: PayingContext,
    record: BillSettlement,
    amount: Decimal,
    now: datetime,
) -> str | None:
    if amount <= 0 or record.provider is None or record.order_id is None:
        return None
    order = session.get(WalletOrder, record.order_id, with_for_update=True)
    assert order is not None
    refund_id = f"RF{record.setl_id}"
    wallet_for(container, session, record.provider).refund(order.order_id, refund_id, amount)
    order.refunded_fen += to_fen(amount)
    order.updated_at = now
    return refund_id
