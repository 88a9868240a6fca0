"""Refunds of bill lines (2208), before and after settlement.

Before settlement (``billed`` / ``overdue``) a refunded line's posted charge is reversed in the
ledger, so the bill and the patient's outstanding balance shrink: the money "goes back" to the
credit line. After settlement (``settled`` / ``settled_late``) the settlement is reversed and the
remaining lines are settled again (``insurance.refund.resettle``), every source getting back what
it paid minus what the re-settlement takes from it.

The re-settlement is posted at once from the same sources, not turned into a new payment
obligation: the money is already with us (the pool and the personal account are ours to move, and
the wallet part was paid), so each source's net is ``paid before − paid now``, which is never
negative for the pool and the wallet (a smaller bill never costs more). The wallet's net goes
back through the provider's refund. In the ledger, one linked batch writes, in this order, the
reversals of the refunded lines' charges, the new settlement's transfers and the reversals of
the old settlement's transfers: the patient's line gains before it gives, so its limit holds at
every step, and its net change is zero (the bill was already repaid).

Mutual aid (a family manager's personal account paid part of a relative's bill) is re-split too: the
manager's account is offered again (``settlement.usecases.family.links.mutual_aid_accounts``), the
reversal gives it back what it paid, and the new settlement takes what it still pays, so the
manager's account is credited exactly what mutual aid no longer pays, and its ledger account
``patient:{manager}:insurance_account`` gets the same back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.events import OverdueBillRepaid
from insurance.errors import InsuranceError
from insurance.money import ZERO, from_fen, quantize_fen, to_fen
from insurance.refund import resettle
from insurance.split import Accumulators, RelativeAccount, Settlement, settle
from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.accumulators import accumulators_for, store_accumulators
from settlement.billing.credit_line import sync_line
from settlement.billing.family_tables import FamilyLink
from settlement.billing.history import repayment_history
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.bootstrap import Container
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.ledger import chart
from settlement.ledger.ledger import (
    TransferRequest,
    create_transfers,
    get_transfer,
    open_account,
    reverse,
)
from settlement.usecases import notices
from settlement.usecases.charging.visits import local_date, priced_line, require_person, split_visit
from settlement.usecases.credit.decisions import current_decision, record_event
from settlement.usecases.family.links import mutual_aid_accounts
from settlement.usecases.family.sharing import line_hold_ids, line_shares, shared_holds
from settlement.usecases.paying.payments import (
    change_status,
    live_settlement,
    lock_bill,
    lock_person,
    plan_legs,
    source_accounts,
    wallet_for,
)


@dataclass(frozen=True)
class Returned:
    """Where the refunded money went, exact to the fen."""

    hifp_pay: Decimal = ZERO
    acct_pay: Decimal = ZERO
    acct_mulaid_pay: Decimal = ZERO
    psn_cash_pay: Decimal = ZERO
    credit_line: Decimal = ZERO


@dataclass(frozen=True)
class RefundResult:
    bill: Bill
    refunded: tuple[str, ...]
    refunded_amount: Decimal
    setlinfo: dict[str, str]
    setl_id: str | None
    returned: Returned
    wallet_refund_id: str | None = None


def refund_lines(
    uow: UnitOfWork,
    *,
    container: Container,
    hospital: Hospital,
    bill_id: str,
    feedetl_sns: Sequence[str],
    reason: str,
) -> RefundResult:
    """Refund lines of the hospital's own bill, before or after settlement (2208)."""
    session = uow.session
    bill = lock_bill(session, bill_id)
    if bill is None or bill.hospital_code != hospital.code:
        raise ServiceError("not_found", f"no bill {bill_id} at this hospital")
    if len(set(feedetl_sns)) != len(feedetl_sns):
        raise ServiceError("validation_error", "a feedetl_sn appears twice in the request")
    if bill.status in (bill_states.PAYING, bill_states.PAYING_LATE):
        raise ServiceError("conflict", f"bill {bill_id} is being paid: refund after it settles")
    visit = session.get(Visit, bill.mdtrt_id)
    assert visit is not None
    by_sn = {line.feedetl_sn: line for line in visit.fees}
    unknown = [sn for sn in feedetl_sns if by_sn.get(sn) is None or by_sn[sn].status == "cancelled"]
    if unknown:
        raise ServiceError(
            "unknown_fee_line",
            f"feedetl_sn {', '.join(unknown)} is not a billed line of bill {bill_id}",
            feedetl_sn=unknown,
            fields=[
                {
                    "path": f"feedetl_sn.{feedetl_sns.index(sn)}",
                    "message": "not a billed line",
                    "type": "unknown_fee_line",
                }
                for sn in unknown
            ],
        )
    done = [sn for sn in feedetl_sns if by_sn[sn].status == "refunded"]
    if done:
        raise ServiceError(
            "already_refunded", f"feedetl_sn {', '.join(done)} is already refunded", feedetl_sn=done
        )
    chosen = [by_sn[sn] for sn in feedetl_sns]
    now = container.clock.now()
    if bill.status in (bill_states.BILLED, bill_states.OVERDUE):
        return _before_settlement(session, container, hospital, bill, visit, chosen, reason, now)
    if bill.status in bill_states.PAID:
        result = _after_settlement(session, container, bill, visit, chosen, reason, now)
        notices.refund_returned(
            session,
            settings=container.settings,
            people=container.insurance_platform(session),
            bill=bill,
            refunded=result.refunded_amount,
            returned=result.returned,
            now=now,
        )
        return result
    raise ServiceError("conflict", f"a bill that is {bill.status} cannot be refunded")


def _refund_charges(
    session: Session, container: Container, bill: Bill, chosen: Sequence[FeeLine], now: datetime
) -> int:
    for line in chosen:
        line.status = "refunded"
        line.changed_at = now
    bill.medfee_sumamt_fen -= sum(line.det_item_fee_sumamt_fen for line in chosen)
    return sum(line.det_item_fee_sumamt_fen for line in chosen)


def _before_settlement(
    session: Session,
    container: Container,
    hospital: Hospital,
    bill: Bill,
    visit: Visit,
    chosen: Sequence[FeeLine],
    reason: str,
    now: datetime,
) -> RefundResult:
    for hold_id in _hold_ids(session, bill, chosen):
        reverse(
            session,
            original_id=f"post:{hold_id}",
            new_id=f"refund:{hold_id}",
            clock=container.clock,
            code="refund",
            reference=bill.bill_id,
        )
    amount_fen = _refund_charges(session, container, bill, chosen, now)
    remaining = [line for line in visit.fees if line.status == "billed"]
    estimate = split_visit(
        container, session, visit=visit, hospital_level=hospital.level, lines=remaining
    )
    bill.estimate = estimate.setlinfo.as_dict()
    target = bill.status if remaining else bill_states.REFUNDED
    was_overdue = bill.status == bill_states.OVERDUE
    detail = {"feedetl_sn": [line.feedetl_sn for line in chosen], "reason": reason}
    change_status(
        session, bill, target, kind="refund", now=now, amount_fen=amount_fen, detail=detail
    )
    session.flush()
    if was_overdue and target == bill_states.REFUNDED:
        _overdue_debt_gone(session, container, bill)
    return RefundResult(
        bill=bill,
        refunded=tuple(line.feedetl_sn for line in chosen),
        refunded_amount=from_fen(amount_fen),
        setlinfo=bill.estimate,
        setl_id=None,
        returned=Returned(credit_line=from_fen(amount_fen)),
    )


def _overdue_debt_gone(session: Session, container: Container, bill: Bill) -> None:
    """An overdue bill refunded whole leaves nothing owed: record the credit event that lifts
    the freeze, then move the ledger's line to the new decision.

    Why ``OverdueBillRepaid``: of the credit rules' three events it is the one that says "an
    overdue debt no longer stands". The patient did miss the deadline (the bill stays counted as
    overdue in the repayment history, as a repayment after the deadline would), so the rules
    treat it like an overdue bill settled late: unfrozen, at the lower line the policy gives
    after an overdue bill. ``BillRepaidOnTime`` would reward a deadline that was missed, and
    recording nothing would leave the line frozen with nothing owed. The status itself comes
    from the history, where a refunded bill is no longer overdue and unpaid.
    """
    before = current_decision(session, bill.psn_no)
    if before is None:
        return
    decision = record_event(
        session,
        config=container.credit_config,
        clock=container.clock,
        psn_no=bill.psn_no,
        event=OverdueBillRepaid(bill.bill_id),
        history=repayment_history(session, psn_no=bill.psn_no, now=container.clock.now()),
    )
    sync_line(session, psn_no=bill.psn_no, line=decision.line, clock=container.clock)
    notices.credit_moved(
        session,
        settings=container.settings,
        people=container.insurance_platform(session),
        psn_no=bill.psn_no,
        before=before,
        after=decision,
        now=container.clock.now(),
    )


def rebuild_settlement(
    container: Container, session: Session, record: BillSettlement
) -> Settlement:
    """The split a settlement record was made of, computed again from its stored inputs.

    Raises:
        ServiceError: ``conflict`` if the same inputs no longer give the same split (the policy
            in force on the visit date was edited since), so nothing is reversed wrongly.
    """
    rows = session.query(FeeLine).filter(FeeLine.mdtrt_id == _mdtrt_of(session, record)).all()
    by_sn = {row.feedetl_sn: row for row in rows}
    policy = container.policies.in_force(record.visit_date)
    try:
        rebuilt = settle(
            [priced_line(by_sn[sn]) for sn in record.lines],
            policy=policy,
            hospital_level=record.hospital_level,
            psn_type=record.psn_type,
            accumulators=Accumulators(
                record.policy_year,
                from_fen(record.deductible_before_fen),
                from_fen(record.hifp_paid_before_fen),
            ),
            account_balance=from_fen(record.balance_before_fen),
            relatives=_paid_mutual_aid(session, record),
            visit_date=record.visit_date,
        )
    except InsuranceError as error:
        raise ServiceError("conflict", f"settlement {record.setl_id}: {error}") from None
    if rebuilt.setlinfo.as_dict() != record.setlinfo:
        raise ServiceError(
            "conflict", f"settlement {record.setl_id} no longer rebuilds from its inputs"
        )
    return rebuilt


def _payer_relation(session: Session, record: BillSettlement) -> str | None:
    """The relation the payer declared for the patient on their latest link (ended or not)."""
    return session.scalars(
        select(FamilyLink.relation)
        .where(
            FamilyLink.manager_psn_no == record.payer_psn_no,
            FamilyLink.relative_psn_no == record.psn_no,
        )
        .order_by(FamilyLink.invited_at.desc(), FamilyLink.link_id.desc())
    ).first()


def _paid_mutual_aid(session: Session, record: BillSettlement) -> list[RelativeAccount]:
    """The payer's account as the settlement used it: offering exactly what it paid rebuilds the
    same split (the account paid ``min(what was left, its balance)``, which was that amount)."""
    if not record.acct_mulaid_pay_fen:
        return []
    relation = _payer_relation(session, record)
    if relation is None:
        raise ServiceError("conflict", f"settlement {record.setl_id}: no family link of the payer")
    return [RelativeAccount(record.payer_psn_no, relation, from_fen(record.acct_mulaid_pay_fen))]


def _mutual_aid_now(
    session: Session, container: Container, bill: Bill, record: BillSettlement
) -> list[RelativeAccount]:
    """The payer's account offered to the re-settlement, at its balance now.

    While the link is active this is what a payment now would offer. If the link has ended since
    the payment, the account that paid is still offered under the relation it paid under: the
    re-settlement only redistributes money that account already gave, it never asks for more
    than it gave back first, so the wallet is never charged for the link's ending.
    """
    offered = mutual_aid_accounts(
        session, container=container, payer_psn_no=record.payer_psn_no, bill=bill
    )
    if offered or not record.acct_mulaid_pay_fen:
        return offered
    relation = _payer_relation(session, record)
    person = container.insurance_platform(session).lookup_person(record.payer_psn_no)
    if relation is None or person is None:
        return []
    return [RelativeAccount(record.payer_psn_no, relation, quantize_fen(person.balc))]


def _mdtrt_of(session: Session, record: BillSettlement) -> str:
    bill = session.get(Bill, record.bill_id)
    assert bill is not None
    return bill.mdtrt_id


def _after_settlement(
    session: Session,
    container: Container,
    bill: Bill,
    visit: Visit,
    chosen: Sequence[FeeLine],
    reason: str,
    now: datetime,
) -> RefundResult:
    record = live_settlement(session, bill.bill_id)
    if record is None or record.status != "posted":
        raise ServiceError("conflict", f"bill {bill.bill_id} has no posted settlement to reverse")
    for psn_no in sorted({bill.psn_no, record.payer_psn_no}):
        lock_person(session, psn_no)  # both accounts, in psn_no order as payments lock them
    original = rebuild_settlement(container, session, record)
    person = require_person(container, session, bill.psn_no)
    policy = original.policy
    accumulators = accumulators_for(
        session,
        person=person,
        policy_year=record.policy_year,
        current_year=policy.policy_year(local_date(container, now)),
    )
    result = resettle(
        original,
        refunded=[line.feedetl_sn for line in chosen],
        accumulators=accumulators,
        account_balance=quantize_fen(person.balc),
        relatives=_mutual_aid_now(session, container, bill, record),
    )
    new = result.settlement
    old_pay = {
        "hifp": original.setlinfo.hifp_pay,
        "acct": original.acct_own_pay,
        "mulaid": original.setlinfo.acct_mulaid_pay,
        "cash": original.setlinfo.psn_cash_pay,
    }
    new_pay = {
        "hifp": new.setlinfo.hifp_pay,
        "acct": new.acct_own_pay,
        "mulaid": new.setlinfo.acct_mulaid_pay,
        "cash": new.setlinfo.psn_cash_pay,
    }
    if new_pay["cash"] > old_pay["cash"]:
        raise ServiceError("conflict", "the re-settlement would take more from the wallet")
    accounts = source_accounts(session, bill.psn_no, record.provider)
    if old_pay["mulaid"] > 0 or new_pay["mulaid"] > 0:
        # Mutual aid came from (and goes back to) the manager's own personal account.
        accounts["mulaid"] = chart.patient_insurance_account(record.payer_psn_no)
        open_account(session, code=accounts["mulaid"], kind="insurance_account")
    chosen_sns = {line.feedetl_sn for line in chosen}
    remaining = [sn for sn in record.lines if sn not in chosen_sns]
    new_setl_id = new_id("ST", now) if remaining else None
    batch: list[TransferRequest] = []
    for hold_id in _hold_ids(session, bill, chosen):
        charge = get_transfer(session, f"post:{hold_id}")
        assert charge is not None, f"the charge of {hold_id} was posted at close"
        batch.append(
            TransferRequest(
                id=f"refund:{hold_id}",
                debit_account=charge.credit_account_id,
                credit_account=charge.debit_account_id,
                amount=charge.amount,
                code="refund",
                reference=bill.bill_id,
                reverses_id=charge.id,
            )
        )
    new_legs: list[dict[str, Any]] = []
    if new_setl_id is not None:
        shares = _shares_without(session, bill, chosen_sns)
        new_legs = plan_legs(new_setl_id, bill, new_pay, shares)
    for leg in new_legs:
        batch.append(
            TransferRequest(
                id=leg["id"],
                debit_account=accounts[leg["source"]],
                credit_account=chart.patient_line(leg["line"]),
                amount=from_fen(leg["amount_fen"]),
                code=f"repay_{leg['source']}",
                reference=bill.bill_id,
            )
        )
    for leg in record.transfers:
        batch.append(
            TransferRequest(
                id=f"rev:{leg['id']}",
                debit_account=chart.patient_line(leg["line"]),
                credit_account=accounts[leg["source"]],
                amount=from_fen(leg["amount_fen"]),
                code="repay_reversal",
                reference=bill.bill_id,
                reverses_id=leg["id"],
            )
        )
    create_transfers(session, batch, clock=container.clock)

    # The personal account and the accumulators: back what the old split took, less the new.
    platform = container.insurance_platform(session)
    account_net = old_pay["acct"] - new_pay["acct"]
    if account_net > 0:
        platform.credit_personal_account(bill.psn_no, account_net)
    elif account_net < 0:
        platform.debit_personal_account(bill.psn_no, -account_net)
    # The manager's account: exactly what mutual aid no longer pays.
    mulaid_net = old_pay["mulaid"] - new_pay["mulaid"]
    if mulaid_net > 0:
        platform.credit_personal_account(record.payer_psn_no, mulaid_net)
    elif mulaid_net < 0:
        platform.debit_personal_account(record.payer_psn_no, -mulaid_net)
    store_accumulators(session, psn_no=bill.psn_no, accumulators=new.accumulators, now=now)
    wallet_refund_id = _refund_wallet(
        session, container, record, old_pay["cash"] - new_pay["cash"], now
    )

    record.status = "reversed"
    record.reversed_at = now
    session.flush()  # the partial unique index allows one live settlement per bill
    amount_fen = _refund_charges(session, container, bill, chosen, now)
    if new_setl_id is not None:
        before = result.reversal.accumulators
        session.add(
            BillSettlement(
                setl_id=new_setl_id,
                bill_id=bill.bill_id,
                psn_no=bill.psn_no,
                payer_psn_no=record.payer_psn_no,
                status="posted",
                channel="resettle",
                provider=record.provider,
                order_id=record.order_id,
                setlinfo=new.setlinfo.as_dict(),
                medfee_sumamt_fen=to_fen(new.setlinfo.medfee_sumamt),
                hifp_pay_fen=to_fen(new_pay["hifp"]),
                acct_own_pay_fen=to_fen(new_pay["acct"]),
                acct_mulaid_pay_fen=to_fen(new.setlinfo.acct_mulaid_pay),
                psn_cash_pay_fen=to_fen(new_pay["cash"]),
                lines=remaining,
                hospital_level=record.hospital_level,
                psn_type=record.psn_type,
                visit_date=record.visit_date,
                policy_year=record.policy_year,
                deductible_before_fen=to_fen(before.deductible_used),
                hifp_paid_before_fen=to_fen(before.hifp_paid),
                balance_before_fen=to_fen(result.reversal.balc),
                transfers=new_legs,
                replaces_setl_id=record.setl_id,
                created_at=now,
                posted_at=now,
            )
        )
    target = bill.status if remaining else bill_states.REFUNDED
    detail = {
        "feedetl_sn": [line.feedetl_sn for line in chosen],
        "reason": reason,
        "reversed_setl_id": record.setl_id,
        "setl_id": new_setl_id,
    }
    change_status(
        session, bill, target, kind="refund", now=now, amount_fen=amount_fen, detail=detail
    )
    session.flush()
    info = original.setlinfo
    return RefundResult(
        bill=bill,
        refunded=tuple(line.feedetl_sn for line in chosen),
        refunded_amount=from_fen(amount_fen),
        setlinfo=new.setlinfo.as_dict(),
        setl_id=new_setl_id,
        returned=Returned(
            hifp_pay=info.hifp_pay - new.setlinfo.hifp_pay,
            acct_pay=info.acct_pay - new.setlinfo.acct_pay,
            acct_mulaid_pay=info.acct_mulaid_pay - new.setlinfo.acct_mulaid_pay,
            psn_cash_pay=info.psn_cash_pay - new.setlinfo.psn_cash_pay,
            credit_line=ZERO,
        ),
        wallet_refund_id=wallet_refund_id,
    )


def _hold_ids(session: Session, bill: Bill, chosen: Sequence[FeeLine]) -> list[str]:
    """Every hold of the chosen lines (own and family-shared); each was posted at close."""
    shared = shared_holds(session, bill.mdtrt_id)
    return [
        hold_id
        for line in chosen
        for hold_id in line_hold_ids(line, shared.get(line.feedetl_sn, []))
    ]


def _shares_without(session: Session, bill: Bill, refunded: set[str]) -> list[tuple[str, Decimal]]:
    """Which lines carried the bill's lines that remain after this refund."""
    visit = session.get_one(Visit, bill.mdtrt_id)
    shared = shared_holds(session, bill.mdtrt_id)
    totals: dict[str, int] = {}
    for line in visit.fees:
        if line.status != "billed" or line.feedetl_sn in refunded:
            continue
        for psn_no, fen in line_shares(line, shared.get(line.feedetl_sn, [])):
            totals[psn_no] = totals.get(psn_no, 0) + fen
    return [(psn_no, from_fen(fen)) for psn_no, fen in totals.items() if fen > 0]


def _refund_wallet(
    session: Session, container: Container, record: BillSettlement, amount: Decimal, now: datetime
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
