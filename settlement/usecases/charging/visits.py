"""The visit's life for the HIS: open (2201), look at (``GET``), pre-settle (2206), close.

Charging (2204) and cancelling a line (2205) are ``settlement.usecases.charging.service``, over
``facts``, ``decide`` and ``write``; their names are kept here too, for the callers that know
this module. Every function runs inside the caller's unit of work and never commits. Charges are
holds in the ledger (pending transfers from the patient's line to the visit's sales account), so
the line's limit is enforced by the ledger under its row locks: concurrent charges can never
overspend it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from insurance.modes import REPAYMENT, VISIT_END
from insurance.money import ZERO, from_fen, quantize_fen, to_fen
from insurance.pricing import PricedLine
from insurance.split import RelativeAccount, Settlement, settle
from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.accumulators import AccumulatorRow, accumulators_for, lock_person
from settlement.billing.credit_line import line_balances, sync_line
from settlement.billing.family_standing import overdue_shared_bills
from settlement.billing.tables import Bill, BillEvent, FeeLine, Visit
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.foundation.ports import PersonRecord
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging import decide
from settlement.usecases.charging.decide import (
    ChargedVisit,
    FeeBatchResult,
    FeeRequest,
    PostedFeeLine,
    VisitRequest,
    credit_refusal,
    patient_refusal,
    stated_time_refusal,
)
from settlement.usecases.charging.facts import ACTIVE_STATUSES, bill_of_visit, visit_of
from settlement.usecases.charging.fund import record_inputs, settle_fund_at_close
from settlement.usecases.charging.service import (
    ChargingContext,
    VisitState,
    cancel_fee,
    charge_rules,
    post_fees,
    visit_total,
)
from settlement.usecases.charging.write import post_line_holds
from settlement.usecases.credit.decisions import credit_standing
from settlement.usecases.family import sharing as family_credit

__all__ = [
    "ChargedVisit",
    "CloseResult",
    "FeeBatchResult",
    "FeeRequest",
    "PostedFeeLine",
    "VisitRequest",
    "VisitState",
    "bill_of_visit",
    "bill_split",
    "cancel_fee",
    "close_visit",
    "credit_refusal",
    "get_visit",
    "open_visit",
    "post_fees",
    "presettle",
    "require_active_credit",
    "require_person",
    "split_visit",
    "visit_of",
]


@dataclass(frozen=True)
class CloseResult:
    visit: Visit
    bill: Bill
    #: The bill was made by this call (``False``: the visit was closed already, its bill returned).
    made: bool = True


def active_lines(visit: Visit) -> list[FeeLine]:
    return [line for line in visit.fees if line.status in ACTIVE_STATUSES]


def get_visit(uow: UnitOfWork, *, hospital: Hospital, mdtrt_id: str) -> VisitState:
    """The visit, its lines and totals."""
    visit = visit_of(uow.session, hospital, mdtrt_id)
    return VisitState(
        visit=visit,
        medfee_sumamt=visit_total(visit),
        available=line_balances(uow.session, visit.psn_no).available,
        bill=bill_of_visit(uow.session, mdtrt_id),
    )


# -- open ----------------------------------------------------------------------------------------


def require_person(container: ChargingContext, session: Session, psn_no: str) -> PersonRecord:
    person = container.insurance_platform(session).lookup_person(psn_no)
    if person is None:
        raise ServiceError("patient_not_found", f"no insured person {psn_no}")
    return person


def require_active_credit(
    container: ChargingContext, session: Session, person: PersonRecord
) -> Decimal:
    """Refuse unless the person may use credit now (the rules a charge is decided by,
    :func:`settlement.usecases.charging.decide.patient_refusal`); returns their line."""
    standing = credit_standing(
        session, person.psn_no, config=container.credit_config, clock=container.clock
    )
    overdue: list[str] = []
    if (
        container.scheme.family.freeze_shared_on_overdue
        and credit_refusal(person, standing) is None
    ):
        overdue = overdue_shared_bills(session, person.psn_no)
    refusal = patient_refusal(person.psn_no, person, standing, overdue)
    if refusal is not None:
        raise refusal
    return standing.line


def open_visit(
    uow: UnitOfWork, *, container: ChargingContext, hospital: Hospital, request: VisitRequest
) -> VisitState:
    """Open a visit (2201) for a signed, eligible patient whose line is usable."""
    check_stated_times(container, [("begntime", request.begntime)])
    session = uow.session
    person = require_person(container, session, request.psn_no)
    line = require_active_credit(container, session, person)
    duplicate = session.scalars(
        select(Visit.mdtrt_id).where(
            Visit.hospital_code == hospital.code, Visit.ipt_otp_no == request.ipt_otp_no
        )
    ).first()
    if duplicate is not None:
        raise ServiceError(
            "duplicate_visit",
            f"ipt_otp_no {request.ipt_otp_no} is already visit {duplicate} at this hospital",
            mdtrt_id=duplicate,
        )
    sync_line(session, psn_no=person.psn_no, line=line, clock=container.clock)
    now = container.clock.now()
    visit = Visit(
        mdtrt_id=new_id("MD", now),
        hospital_code=hospital.code,
        ipt_otp_no=request.ipt_otp_no,
        psn_no=person.psn_no,
        med_type=request.med_type,
        dept_code=request.dept_code,
        dept_name=request.dept_name,
        dr_name=request.dr_name,
        begntime=request.begntime,
        status="open",
        opened_at=now,
    )
    session.add(visit)
    session.flush()
    # The visit's own sales account, opened once here so a charge never has to.
    family_credit.open_visit_sales(session, visit.mdtrt_id)
    return VisitState(
        visit=visit,
        medfee_sumamt=ZERO,
        available=family_credit.combined_available(container, session, person.psn_no),
    )


def local_date(container: ChargingContext, moment: datetime) -> date:
    return decide.local_date(container.settings.timezone, moment)


def check_stated_times(container: ChargingContext, times: Sequence[tuple[str, datetime]]) -> None:
    """Refuse a time the HIS states that no policy covers or that is too far ahead (422)."""
    refusal = stated_time_refusal(times, charge_rules(container))
    if refusal is not None:
        raise refusal


# -- pre-settle and close ------------------------------------------------------------------------


def priced_line(row: FeeLine) -> PricedLine:
    """A stored fee line back as the insurance module's priced line."""
    return PricedLine(
        feedetl_sn=row.feedetl_sn,
        med_list_codg=row.med_list_codg,
        item_name=row.item_name,
        pric=row.pric,
        cnt=row.cnt,
        det_item_fee_sumamt=from_fen(row.det_item_fee_sumamt_fen),
        fulamt_ownpay_amt=from_fen(row.fulamt_ownpay_amt_fen),
        overlmt_amt=from_fen(row.overlmt_amt_fen),
        preselfpay_amt=from_fen(row.preselfpay_amt_fen),
        inscp_scp_amt=from_fen(row.inscp_scp_amt_fen),
        chrgitm_lv=row.chrgitm_lv,
        selfpay_prop=row.selfpay_prop,
        pric_uplmt_amt=row.pric_uplmt_amt,
        unlisted=row.unlisted,
        lmt_used_flag=row.lmt_used_flag,
        hosp_appr_flag=row.hosp_appr_flag,
    )


def split_visit(
    container: ChargingContext,
    session: Session,
    *,
    visit: Visit,
    hospital_level: int,
    lines: Sequence[FeeLine],
    relatives: Sequence[RelativeAccount] = (),
    held: Decimal = ZERO,
    accumulator_rows: Mapping[int, AccumulatorRow] | None = None,
) -> Settlement:
    """The split (2206) of ``lines`` as it would be now, with this year's accumulators.

    ``relatives``: a family manager's personal account offered for mutual aid when they pay
    (``settlement.usecases.family.links.mutual_aid_accounts``). ``held``: what the platform
    already debited from the patient's account for this bill, counted as still in it.
    ``accumulator_rows``: the patient's accumulators by policy year, if read with the facts.
    """
    person = require_person(container, session, visit.psn_no)
    visit_day = local_date(container, visit.begntime)
    policy = container.policies.in_force(visit_day)
    accumulators = accumulators_for(
        session,
        person=person,
        policy_year=policy.policy_year(visit_day),
        current_year=policy.policy_year(local_date(container, container.clock.now())),
        read=accumulator_rows,
    )
    return settle(
        [priced_line(row) for row in lines],
        policy=policy,
        hospital_level=hospital_level,
        psn_type=person.psn_type,
        accumulators=accumulators,
        account_balance=quantize_fen(person.balc) + held,
        relatives=relatives,
        visit_date=visit_day,
    )


def bill_split(
    container: ChargingContext,
    session: Session,
    *,
    bill: Bill,
    visit: Visit,
    hospital_level: int,
    lines: Sequence[FeeLine],
    relatives: Sequence[RelativeAccount] = (),
    held: Decimal = ZERO,
    accumulator_rows: Mapping[int, AccumulatorRow] | None = None,
) -> Settlement:
    """The split repaying ``bill`` now takes: in ``repayment`` mode the split of the moment
    (:func:`split_visit`); in ``visit_end`` the split whose fund share settled at close, rebuilt
    from its stored inputs with today's balances, so only the personal part is new."""
    if bill.settlement_mode != VISIT_END or bill.fund_settlement is None:
        return split_visit(
            container,
            session,
            visit=visit,
            hospital_level=hospital_level,
            lines=lines,
            relatives=relatives,
            held=held,
            accumulator_rows=accumulator_rows,
        )
    person = require_person(container, session, visit.psn_no)
    return fund_split(
        container,
        bill,
        lines=lines,
        account_balance=quantize_fen(person.balc) + held,
        relatives=relatives,
    )


def fund_split(
    container: ChargingContext,
    bill: Bill,
    *,
    lines: Sequence[FeeLine],
    account_balance: Decimal,
    relatives: Sequence[RelativeAccount] = (),
) -> Settlement:
    """The split of a ``visit_end`` bill from its fund settlement's inputs (accumulators before,
    hospital level, person type, visit date) and ``lines``, with the balances given.

    Raises:
        ServiceError: ``conflict`` if ``lines`` are not the settlement's, or its fund share no
            longer rebuilds (the policy in force on the visit date was edited since).
    """
    record = bill.fund_settlement
    assert record is not None, "a visit_end bill keeps its fund settlement"
    if sorted(line.feedetl_sn for line in lines) != sorted(record["lines"]):
        raise ServiceError("conflict", f"bill {bill.bill_id}: its lines are not the fund's")
    before, level, psn_type, visit_day = record_inputs(record)
    split = settle(
        [priced_line(row) for row in lines],
        policy=container.policies.in_force(visit_day),
        hospital_level=level,
        psn_type=psn_type,
        accumulators=before,
        account_balance=account_balance,
        relatives=relatives,
        visit_date=visit_day,
    )
    info = split.setlinfo
    if (info.hifp_pay, info.act_pay_dedc) != (
        Decimal(record["hifp_pay"]),
        Decimal(record["act_pay_dedc"]),
    ):
        raise ServiceError("conflict", f"bill {bill.bill_id}: its fund share no longer rebuilds")
    return split


def presettle(
    uow: UnitOfWork, *, container: ChargingContext, hospital: Hospital, mdtrt_id: str
) -> Settlement:
    """The split as it would be now (2206); changes nothing."""
    visit = visit_of(uow.session, hospital, mdtrt_id)
    return split_visit(
        container,
        uow.session,
        visit=visit,
        hospital_level=hospital.level,
        lines=active_lines(visit),
    )


def close_visit(
    uow: UnitOfWork,
    *,
    container: ChargingContext,
    hospital: Hospital,
    mdtrt_id: str,
    closed_by: str = "his",
    closed_at: datetime | None = None,
) -> CloseResult:
    """End the visit: post its holds and create the bill due in the repayment window.

    Closing a closed visit returns its bill (``made`` is then ``False``); an empty visit closes
    as settled. This only makes the bill: every caller closes through
    ``settlement.usecases.paying.closing.close_visit``, which settles a bill the insurance
    accounts cover entirely in the same transaction (issue 16 item 4).

    ``closed_at`` is when the visit ended: now when the HIS closes it; for a visit that closed
    itself, the end of its day (``settlement.scheduler.sweeps.end_of_visit_day``), however late
    the sweep recording it runs. The bill is due ``closed_at`` + the window (72 h), but never
    sooner than the policy's ``min_notice`` (24 h) after now, when the bill is made and its
    patient can first see it: a visit swept so late that its deadline has passed (the scheduler
    was down for days) would otherwise be overdue, its line frozen, in the very sweep that made
    it, with no reminder sent. With the notice, the reminder sweep (which runs before the
    overdue sweep in a tick) tells the patient at once ("due in 24 h"), the 2-hour reminder
    follows, and the bill is overdue at that ``due_at`` like any other. A sweep less late than
    ``window - min_notice`` (48 h) leaves ``due_at = closed_at + window`` exactly. The ledger's
    transfers and the bill's history are stamped now, when they were written.
    """
    session = uow.session
    visit = visit_of(session, hospital, mdtrt_id, lock=True)
    existing = bill_of_visit(session, mdtrt_id)
    if visit.status == "closed" and existing is not None:
        return CloseResult(visit=visit, bill=existing, made=False)
    # Before the ledger's locks, as a payment takes it: the bill may be settled in this
    # transaction (``settlement.usecases.paying.closing``), and the estimate below is then the
    # split that settles it; in visit_end the close consumes the accumulators it reads
    # (``settle_fund_at_close``).
    lock_person(session, visit.psn_no)
    now = container.clock.now()
    ended = now if closed_at is None else min(closed_at, now)  # a visit never ends in the future
    scheme = container.scheme
    due_at = max(ended + scheme.window, now + scheme.min_notice)
    held = [line for line in visit.fees if line.status == "held"]
    estimate = split_visit(
        container, session, visit=visit, hospital_level=hospital.level, lines=held
    )
    post_line_holds(
        session,
        mdtrt_id=visit.mdtrt_id,
        lines=held,
        shared=family_credit.shared_holds(session, visit.mdtrt_id),
        clock=container.clock,
        now=now,
    )
    total_fen = sum(line.det_item_fee_sumamt_fen for line in held)
    visit.status = "closed"
    visit.closed_at = ended
    visit.closed_by = closed_by
    status = bill_states.BILLED if total_fen > 0 else bill_states.SETTLED
    bill = Bill(
        bill_id=new_id("BL", now),
        mdtrt_id=visit.mdtrt_id,
        hospital_code=hospital.code,
        psn_no=visit.psn_no,
        status=status,
        medfee_sumamt_fen=total_fen,
        billed_fen=total_fen,
        closed_at=ended,
        due_at=due_at,
        settled_at=ended if total_fen == 0 else None,
        estimate=estimate.setlinfo.as_dict(),
        settlement_mode=estimate.policy.settlement_mode if total_fen > 0 else REPAYMENT,
    )
    session.add(bill)
    session.add(
        BillEvent(
            bill_id=bill.bill_id,
            kind="closed",
            from_status=None,
            to_status=status,
            amount_fen=total_fen,
            # What the 2207 answers of the split, kept as answered for the 3201 reconciliation
            # (a refund before repayment changes the bill's estimate, not what the HIS was told).
            detail={
                "closed_by": closed_by,
                "fund_pay_sumamt_fen": to_fen(estimate.setlinfo.fund_pay_sumamt),
                "acct_pay_fen": to_fen(estimate.setlinfo.acct_pay),
            },
            created_at=now,
        )
    )
    session.flush()
    settle_fund_at_close(session, bill=bill, split=estimate, clock=container.clock, now=now)
    session.flush()
    return CloseResult(visit=visit, bill=bill)
