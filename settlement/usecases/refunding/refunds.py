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
from datetime import datetime

from sqlalchemy.orm import Session

from credit.events import OverdueBillRepaid
from insurance.money import from_fen
from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.accumulators import lock_person
from settlement.billing.credit_line import sync_line
from settlement.billing.family_tables import SharedHold
from settlement.billing.history import repayment_history
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.ledger import chart
from settlement.usecases import notices
from settlement.usecases.charging.visits import split_visit
from settlement.usecases.credit.decisions import current_decision, record_event
from settlement.usecases.family.rebalance_write import forget_shared_parts, rebalance_charges
from settlement.usecases.family.sharing import lock_lines, shared_holds
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.payments import lock_bill
from settlement.usecases.refunding.after_settlement import after_settlement
from settlement.usecases.refunding.decide import Returned, decide_before, request_refusal
from settlement.usecases.refunding.facts import (
    RefundFacts,
    posted_charges,
    rebuild_settlement,
    refund_facts,
    refunded_lines,
)
from settlement.usecases.refunding.fund_share import refund_fund_part
from settlement.usecases.refunding.result import RefundResult
from settlement.usecases.refunding.write import move_bill, reverse_charges

__all__ = ["RefundResult", "Returned", "rebuild_settlement", "refund_lines"]


def refund_lines(
    uow: UnitOfWork,
    *,
    container: PayingContext,
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
    facts = refund_facts(session, bill)
    by_sn = facts.by_sn
    refusal = request_refusal(
        bill_id,
        feedetl_sns,
        {sn: line.status for sn, line in by_sn.items()},
        bill_status=bill.status,
    )
    if refusal is not None:
        raise refusal
    chosen = [by_sn[sn] for sn in feedetl_sns]
    now = container.clock.now()
    if bill.status in (bill_states.BILLED, bill_states.OVERDUE):
        return _before_settlement(session, container, hospital, bill, facts, chosen, reason, now)
    if bill.status in bill_states.PAID:
        result = after_settlement(session, container, bill, facts, chosen, reason, now)
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


def _before_settlement(
    session: Session,
    container: PayingContext,
    hospital: Hospital,
    bill: Bill,
    facts: RefundFacts,
    chosen: Sequence[FeeLine],
    reason: str,
    now: datetime,
) -> RefundResult:
    visit, shared = facts.visit, facts.shared
    # Every line the refund and the re-balance touch, locked at once in id order.
    managers = {row.manager_psn_no for rows in shared.values() for row in rows}
    lines = [chart.patient_line(psn_no) for psn_no in {bill.psn_no, *managers}]
    if bill.fund_settlement is not None:
        lock_person(session, bill.psn_no)  # before the lines, as a close or a payment takes it
    lock_lines(session, [chart.visit_sales(bill.mdtrt_id), *lines])
    billed = facts.billed()
    refunded_sns = {line.feedetl_sn for line in chosen}
    # One batch reverses every refunded line's charge (its holds, own and shared), whatever
    # their number: one read of the charges, one write.
    plan = decide_before(
        bill.bill_id,
        bill_status=bill.status,
        chosen=refunded_lines(chosen),
        left=sum(1 for line in billed if line.feedetl_sn not in refunded_sns),
        shared=shared.keys(),
        charges=posted_charges(session, chosen, shared),
        reason=reason,
        managers_frozen=bool(managers) and container.scheme.family.freeze_shared_on_overdue,
    )
    reverse_charges(session, plan, chosen, clock=container.clock, now=now)
    forget_shared_parts(session, mdtrt_id=visit.mdtrt_id, feedetl_sns=plan.forget)
    still_shared = {sn: rows for sn, rows in shared.items() if sn not in refunded_sns}
    remaining = [line for line in visit.fees if line.status == "billed"]
    returned = plan.returned
    if bill.fund_settlement is not None:
        # visit_end: the fund's share of the refunded lines goes back to the fund and the new
        # share is paid into the lines as they carry the rest now, before the re-balance sizes
        # the relative's room (the old share's credit is then off their line); a manager's line
        # keeps at least the fund's legs in it.
        fund = refund_fund_part(
            session, container, bill, billed, chosen, still_shared, now, visit=visit, backing=shared
        )
        if managers:  # the fund's legs may have moved charges onto them (fund_share._new_legs)
            still_shared = shared_holds(session, bill.mdtrt_id)
        returned = Returned(hifp_pay=fund.to_fund, credit_line=fund.to_credit)
        estimate = fund.settlement.setlinfo.as_dict()
        _rebalance(session, container, visit, still_shared, now, keep=_managers_fund_legs(bill))
    else:
        _rebalance(session, container, visit, still_shared, now)
        split = split_visit(
            container, session, visit=visit, hospital_level=hospital.level, lines=remaining
        )
        estimate = split.setlinfo.as_dict()
    move_bill(
        session,
        bill,
        target=plan.target,
        amount_fen=plan.amount_fen,
        detail=plan.detail,
        now=now,
        estimate=estimate,
    )
    if plan.debt_gone:
        _overdue_debt_gone(session, container, bill)
    if plan.frees_managers:
        # A manager the overdue bill froze whose line it no longer uses is free again: told.
        notices.family_freeze_lifted(
            session, settings=container.settings, managers=managers, now=now
        )
    return RefundResult(
        bill=bill,
        refunded=plan.refunded,
        refunded_amount=from_fen(plan.amount_fen),
        setlinfo=estimate,
        setl_id=None,
        returned=returned,
    )


def _rebalance(
    session: Session,
    container: PayingContext,
    visit: Visit,
    shared: dict[str, list[SharedHold]],
    now: datetime,
    *,
    keep: dict[str, int] | None = None,
) -> None:
    """The relative's own line first, after a refund too (issue 16 item 2): the refunded lines
    carry nothing any more (``shared``: the other lines' shared parts), and what they freed on
    the relative's own line takes back what the bill's other lines carry on their managers'
    lines (``settlement.usecases.family.rebalance``); ``keep``: what must stay on each manager's
    line (a ``visit_end`` bill's fund legs in it)."""
    rebalance_charges(
        session, visit=visit, shared=shared, clock=container.clock, now=now, keep_fen=keep
    )


def _managers_fund_legs(bill: Bill) -> dict[str, int]:
    """The fund's legs of a ``visit_end`` bill paid into its managers' lines, by manager."""
    legs = bill.fund_settlement["legs"] if bill.fund_settlement is not None else []
    kept: dict[str, int] = {}
    for leg in legs:
        if leg["line"] != bill.psn_no:
            kept[leg["line"]] = kept.get(leg["line"], 0) + int(leg["amount_fen"])
    return kept


def _overdue_debt_gone(session: Session, container: PayingContext, bill: Bill) -> None:
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
