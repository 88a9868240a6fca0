"""Visit use cases for the HIS: open (2201), charge (2204), cancel (2205), pre-settle (2206), close.

Every function runs inside the caller's unit of work and never commits. Charges are holds in the
ledger (pending transfers from the patient's line to the visit's sales account), so the line's
limit is enforced by the ledger under its row locks: concurrent charges can never overspend it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, Table, bindparam, exists, func, insert, select
from sqlalchemy.orm import Session

from credit.decision import Decision
from insurance.catalogue import Catalogue
from insurance.errors import InsuranceError
from insurance.money import ZERO, from_fen, quantize_fen, to_fen
from insurance.pricing import FeeLine as FeeLineInput
from insurance.pricing import PricedLine, line_amount, price_lines
from insurance.split import RelativeAccount, Settlement, settle
from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.accumulators import accumulators_for
from settlement.billing.catalogue import catalogue_for
from settlement.billing.credit_line import line_balances, sync_line
from settlement.billing.family_standing import overdue_shared_bills, overdue_shared_exists
from settlement.billing.family_tables import ACTIVE as FAMILY_LINK_ACTIVE
from settlement.billing.family_tables import FamilyLink
from settlement.billing.tables import Bill, BillEvent, FeeLine, Visit
from settlement.bootstrap import Container
from settlement.foundation.db import execute_on_connection
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.foundation.ports import PersonRecord
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.ledger.ledger import TransferRequest, create_transfers
from settlement.usecases.charging.times import check_times
from settlement.usecases.credit.decisions import credit_standing
from settlement.usecases.family import sharing as family_credit

EMPLOYEE_INSURANCE = "310"
MAX_BATCH_LINES = 500
#: The contract's refusal codes for a credit standing that is not ``active``.
STANDING_REFUSALS = {
    "not_signed": ("not_signed", "the patient has not signed the current service agreement"),
    "not_eligible": ("not_eligible", "the patient is not eligible for credit medical care"),
    "frozen": ("credit_frozen", "the patient's credit line is frozen by an overdue bill"),
    "suspended": ("suspended", "the patient's credit is suspended"),
}


@dataclass(frozen=True)
class VisitRequest:
    ipt_otp_no: str
    psn_no: str
    med_type: str
    dept_code: str
    dept_name: str
    dr_name: str
    begntime: datetime


@dataclass(frozen=True)
class FeeRequest:
    feedetl_sn: str
    med_list_codg: str
    item_name: str
    pric: Decimal
    cnt: Decimal
    det_item_fee_sumamt: Decimal
    fee_ocur_time: datetime


@dataclass(frozen=True)
class VisitState:
    """A visit with its lines, its total on hold and the patient's available credit."""

    visit: Visit
    medfee_sumamt: Decimal
    available: Decimal
    bill: Bill | None = None


@dataclass(frozen=True, slots=True)
class PostedFeeLine:
    """A line as a charge batch just stored it: the answer is built from these values, since a
    mapped ``FeeLine`` per line costs the ORM's instrumentation for nothing the caller reads."""

    feedetl_sn: str
    chrg_bchno: str
    med_list_codg: str
    item_name: str
    pric: Decimal
    cnt: Decimal
    det_item_fee_sumamt_fen: int
    chrgitm_lv: str
    selfpay_prop: Decimal
    fulamt_ownpay_amt_fen: int
    overlmt_amt_fen: int
    preselfpay_amt_fen: int
    inscp_scp_amt_fen: int
    pric_uplmt_amt: Decimal | None
    unlisted: bool
    fee_ocur_time: datetime
    status: str

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> PostedFeeLine:
        return cls(**{name: values[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class ChargedVisit:
    """A visit as a charge uses it: read as columns under its row lock, not as a mapped object
    (whose loading would cost more than the rest of the statement)."""

    mdtrt_id: str
    psn_no: str
    status: str
    begntime: datetime


@dataclass(frozen=True)
class FeeBatchResult:
    visit: ChargedVisit
    chrg_bchno: str
    lines: list[PostedFeeLine]
    medfee_sumamt: Decimal
    available: Decimal


@dataclass(frozen=True)
class CloseResult:
    visit: Visit
    bill: Bill


# -- queries -------------------------------------------------------------------------------------


def visit_of(session: Session, hospital: Hospital, mdtrt_id: str, *, lock: bool = False) -> Visit:
    """The hospital's own visit; another hospital's visit is not found, not forbidden."""
    query = select(Visit).where(Visit.mdtrt_id == mdtrt_id, Visit.hospital_code == hospital.code)
    if lock:
        query = query.with_for_update()
    visit = session.scalars(query).first()
    if visit is None:
        raise ServiceError("not_found", f"no visit {mdtrt_id} at this hospital")
    return visit


def bill_of_visit(session: Session, mdtrt_id: str) -> Bill | None:
    return session.scalars(select(Bill).where(Bill.mdtrt_id == mdtrt_id)).first()


#: Lines that count in a visit's total.
ACTIVE_STATUSES = ("held", "billed")
FEE_LINES = cast(Table, FeeLine.__table__)


def active_lines(visit: Visit) -> list[FeeLine]:
    return [line for line in visit.fees if line.status in ACTIVE_STATUSES]


def visit_total(visit: Visit) -> Decimal:
    return from_fen(sum(line.det_item_fee_sumamt_fen for line in active_lines(visit)))


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


def require_person(container: Container, session: Session, psn_no: str) -> PersonRecord:
    person = container.insurance_platform(session).lookup_person(psn_no)
    if person is None:
        raise ServiceError("patient_not_found", f"no insured person {psn_no}")
    return person


def require_active_credit(
    container: Container,
    session: Session,
    person: PersonRecord,
    *,
    frozen_by_family: bool | None = None,
) -> Decimal:
    """Refuse unless the person may use credit now; returns their line.

    ``frozen_by_family``: whether a relative's overdue shared bill freezes the line, when the
    caller has read it already (a charge reads it with its visit); ``None`` reads it here.
    """
    standing = credit_standing(
        session, person.psn_no, config=container.credit_config, clock=container.clock
    )
    refusal = credit_refusal(person, standing)
    if refusal is not None:
        raise refusal
    if container.scheme.family.freeze_shared_on_overdue and frozen_by_family is not False:
        overdue = overdue_shared_bills(session, person.psn_no)
        if overdue:
            # Family policy: a relative's overdue bill that drew on this line freezes it too.
            raise ServiceError(
                "credit_frozen",
                "the credit line is frozen: a relative's bill that used it is overdue",
                status="frozen",
                overdue_shared_bills=overdue,
            )
    return standing.line


def credit_refusal(person: PersonRecord, standing: Decision) -> ServiceError | None:
    """Why ``person`` may not use credit with this standing (family freezes aside), if so."""
    if person.insutype != EMPLOYEE_INSURANCE or not person.insured_active:
        return ServiceError(
            "not_eligible",
            "credit medical care is for active employee medical insurance (insutype 310)",
        )
    if standing.status != "active":
        code, message = STANDING_REFUSALS[standing.status]
        return ServiceError(code, message, status=standing.status)
    return None


def open_visit(
    uow: UnitOfWork, *, container: Container, hospital: Hospital, request: VisitRequest
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


# -- charges -------------------------------------------------------------------------------------


def local_date(container: Container, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(container.settings.timezone)).date()


def fee_times(fees: Sequence[FeeRequest]) -> list[tuple[str, datetime]]:
    """Each line's ``fee_ocur_time`` with its field path, for :func:`check_stated_times`."""
    return [(f"fees.{index}.fee_ocur_time", fee.fee_ocur_time) for index, fee in enumerate(fees)]


def check_stated_times(container: Container, times: Sequence[tuple[str, datetime]]) -> None:
    """Refuse a time the HIS states that no policy covers or that is too far ahead (422)."""
    check_times(
        times,
        now=container.clock.now(),
        max_ahead=container.scheme.max_ahead,
        policies=container.policies,
        timezone=container.settings.timezone,
    )


def check_batch(mdtrt_id: str, fees: Sequence[FeeRequest], existing: set[str]) -> None:
    """Refuse an empty or oversized batch, a repeated ``feedetl_sn`` and a wrong line amount.

    ``existing``: the batch's ``feedetl_sn`` values already in the visit.
    """
    if not fees:
        raise ServiceError("validation_error", "a charge batch needs at least one fee line")
    if len(fees) > MAX_BATCH_LINES:
        raise ServiceError(
            "validation_error", f"a charge batch has at most {MAX_BATCH_LINES} lines"
        )
    seen = set(existing)
    for index, fee in enumerate(fees):
        if fee.feedetl_sn in seen:
            raise ServiceError(
                "duplicate_fee",
                f"feedetl_sn {fee.feedetl_sn} is already in visit {mdtrt_id}",
                feedetl_sn=fee.feedetl_sn,
                index=index,
            )
        seen.add(fee.feedetl_sn)
        expected = line_amount(fee.pric, fee.cnt)
        if fee.det_item_fee_sumamt != expected:
            raise ServiceError(
                "amount_mismatch",
                f"fees[{index}].det_item_fee_sumamt is {fee.det_item_fee_sumamt}, but pric × cnt "
                f"rounded half-up to the fen is {expected}",
                fields=[
                    {
                        "path": f"fees.{index}.det_item_fee_sumamt",
                        "message": f"expected {expected}",
                        "type": "amount_mismatch",
                    }
                ],
                expected=f"{expected:.2f}",
            )


@dataclass(frozen=True, slots=True)
class ChargeFacts:
    """What a charge reads about its visit before pricing it, in one statement."""

    visit: ChargedVisit
    hospital_code: str
    total_fen: int  # the visit's active lines
    any_repeated: bool  # one of the ``feedetl_sn`` values asked about is already in the visit
    has_sharing_links: bool  # the patient has managers who may share their lines
    frozen_by_family: bool  # a relative's overdue bill that drew on the patient's line


@dataclass(frozen=True, slots=True)
class _ChargeContext:
    facts: ChargeFacts
    existing: set[str]  # the batch's ``feedetl_sn`` values already in the visit


def _visits_for_charges_statement() -> Select[str, str, str, str, datetime, int, bool, bool, bool]:
    """Built once (its cache key too): the visits locked in id order (so that concurrent
    writers lock them alike), each with its active total, whether any of ``sns`` is in it, and
    the two family facts a charge needs (most patients have none, and then read nothing more)."""
    active = (
        select(func.coalesce(func.sum(FeeLine.det_item_fee_sumamt_fen), 0))
        .where(FeeLine.mdtrt_id == Visit.mdtrt_id, FeeLine.status.in_(ACTIVE_STATUSES))
        .scalar_subquery()
    )
    repeated = exists().where(
        FeeLine.mdtrt_id == Visit.mdtrt_id,
        FeeLine.feedetl_sn.in_(bindparam("sns", expanding=True)),
    )
    has_links = exists().where(
        FamilyLink.relative_psn_no == Visit.psn_no, FamilyLink.status == FAMILY_LINK_ACTIVE
    )
    return (
        select(
            Visit.mdtrt_id,
            Visit.hospital_code,
            Visit.psn_no,
            Visit.status,
            Visit.begntime,
            active,
            repeated,
            has_links,
            overdue_shared_exists(Visit.psn_no),
        )
        .where(Visit.mdtrt_id.in_(bindparam("ids", expanding=True, type_=String())))
        .order_by(Visit.mdtrt_id)
        .with_for_update(of=Visit)
    )


_VISITS_FOR_CHARGES = _visits_for_charges_statement()


def visits_for_charges(
    session: Session, mdtrt_ids: Sequence[str], sns: Sequence[str]
) -> dict[str, ChargeFacts]:
    """Lock the visits (of any hospital: the caller checks whose they are) and read their
    :class:`ChargeFacts`, by id. The visits' lines are not loaded: a long visit would cost a
    row object per line."""
    rows = execute_on_connection(
        session, _VISITS_FOR_CHARGES, {"ids": list(mdtrt_ids), "sns": list(sns)}
    )
    facts: dict[str, ChargeFacts] = {}
    for mdtrt_id, hospital_code, psn_no, status, begntime, total, repeated, links, frozen in rows:
        facts[mdtrt_id] = ChargeFacts(
            visit=ChargedVisit(mdtrt_id=mdtrt_id, psn_no=psn_no, status=status, begntime=begntime),
            hospital_code=hospital_code,
            total_fen=int(total),
            any_repeated=bool(repeated),
            has_sharing_links=bool(links),
            frozen_by_family=bool(frozen),
        )
    return facts


def _visit_for_charge(
    session: Session, hospital: Hospital, mdtrt_id: str, sns: Sequence[str]
) -> _ChargeContext:
    """Lock the hospital's visit and read its facts; the batch's lines already in it are only
    listed when there are some."""
    facts = visits_for_charges(session, [mdtrt_id], sns).get(mdtrt_id)
    if facts is None or facts.hospital_code != hospital.code:
        raise ServiceError("not_found", f"no visit {mdtrt_id} at this hospital")
    existing: set[str] = set()
    if facts.any_repeated:
        existing = set(
            session.scalars(
                select(FeeLine.feedetl_sn).where(
                    FeeLine.mdtrt_id == mdtrt_id, FeeLine.feedetl_sn.in_(list(sns))
                )
            )
        )
    return _ChargeContext(facts=facts, existing=existing)


def price_batch(
    container: Container, session: Session, visit: ChargedVisit, fees: Sequence[FeeRequest]
) -> list[PricedLine]:
    """Price the batch with the insurance policy in force on the visit date."""
    catalogue = catalogue_for(session, (fee.med_list_codg for fee in fees))
    return price_with_catalogue(container, catalogue, visit, fees)


def price_with_catalogue(
    container: Container, catalogue: Catalogue, visit: ChargedVisit, fees: Sequence[FeeRequest]
) -> list[PricedLine]:
    """:func:`price_batch` with the batch's catalogue items read already (a group of charges
    reads them for all its batches at once)."""
    policy = container.policies.in_force(local_date(container, visit.begntime))
    try:
        inputs = [
            FeeLineInput(
                feedetl_sn=fee.feedetl_sn,
                med_list_codg=fee.med_list_codg,
                item_name=fee.item_name,
                pric=fee.pric,
                cnt=fee.cnt,
            )
            for fee in fees
        ]
    except InsuranceError as error:
        raise ServiceError("validation_error", error.message) from None
    return price_lines(inputs, catalogue, policy)


def post_fees(
    uow: UnitOfWork,
    *,
    container: Container,
    hospital: Hospital,
    mdtrt_id: str,
    chrg_bchno: str,
    fees: Sequence[FeeRequest],
) -> FeeBatchResult:
    """Post one charge batch (2204): every line held against the line, or none."""
    check_stated_times(container, fee_times(fees))
    session = uow.session
    context = _visit_for_charge(session, hospital, mdtrt_id, [fee.feedetl_sn for fee in fees])
    facts = context.facts
    visit = facts.visit
    if visit.status != "open":
        raise ServiceError("visit_closed", f"visit {mdtrt_id} is closed")
    check_batch(mdtrt_id, fees, context.existing)
    person = require_person(container, session, visit.psn_no)
    require_active_credit(container, session, person, frozen_by_family=facts.frozen_by_family)
    priced = price_batch(container, session, visit, fees)
    # Holds go on the patient's own line first, then on their family managers' lines.
    available = family_credit.hold_batch(
        session,
        container=container,
        visit=visit,
        priced=priced,
        has_sharing_links=facts.has_sharing_links,
    )
    rows, result = posted_batch(
        facts, chrg_bchno, fees, priced, available=available, now=container.clock.now()
    )
    # One multi-row INSERT; the answer is built from what is known, not read back.
    execute_on_connection(session, insert(FEE_LINES), rows)
    return result


def posted_batch(
    facts: ChargeFacts,
    chrg_bchno: str,
    fees: Sequence[FeeRequest],
    priced: Sequence[PricedLine],
    *,
    available: Decimal,
    now: datetime,
) -> tuple[list[dict[str, Any]], FeeBatchResult]:
    """A held batch's fee-line rows to insert, and its answer, built from the same values."""
    rows = [
        _fee_values(facts.visit, chrg_bchno, fee, line, now)
        for fee, line in zip(fees, priced, strict=True)
    ]
    result = FeeBatchResult(
        visit=facts.visit,
        chrg_bchno=chrg_bchno,
        lines=[PostedFeeLine.from_values(row) for row in rows],
        medfee_sumamt=from_fen(
            facts.total_fen + sum(row["det_item_fee_sumamt_fen"] for row in rows)
        ),
        available=available,
    )
    return rows, result


def _fee_values(
    visit: ChargedVisit, chrg_bchno: str, fee: FeeRequest, line: PricedLine, now: datetime
) -> dict[str, Any]:
    return {
        "mdtrt_id": visit.mdtrt_id,
        "feedetl_sn": fee.feedetl_sn,
        "chrg_bchno": chrg_bchno,
        "med_list_codg": fee.med_list_codg,
        "item_name": fee.item_name,
        "pric": fee.pric,
        "cnt": fee.cnt,
        "det_item_fee_sumamt_fen": to_fen(line.det_item_fee_sumamt),
        "chrgitm_lv": line.chrgitm_lv,
        "selfpay_prop": line.selfpay_prop,
        "fulamt_ownpay_amt_fen": to_fen(line.fulamt_ownpay_amt),
        "overlmt_amt_fen": to_fen(line.overlmt_amt),
        "preselfpay_amt_fen": to_fen(line.preselfpay_amt),
        "inscp_scp_amt_fen": to_fen(line.inscp_scp_amt),
        "pric_uplmt_amt": line.pric_uplmt_amt,
        "unlisted": line.unlisted,
        "fee_ocur_time": fee.fee_ocur_time,
        "status": "held",
        "hold_transfer_id": f"hold:{visit.mdtrt_id}:{fee.feedetl_sn}",
        "posted_at": now,
    }


def cancel_fee(
    uow: UnitOfWork, *, container: Container, hospital: Hospital, mdtrt_id: str, feedetl_sn: str
) -> VisitState:
    """Cancel one line of an open visit (2205), releasing its hold."""
    session = uow.session
    visit = visit_of(session, hospital, mdtrt_id, lock=True)
    if visit.status != "open":
        raise ServiceError("visit_closed", f"visit {mdtrt_id} is closed")
    line = next((f for f in visit.fees if f.feedetl_sn == feedetl_sn), None)
    if line is None or line.status != "held":
        raise ServiceError("not_found", f"no held fee line {feedetl_sn} in visit {mdtrt_id}")
    shared = family_credit.shared_holds(session, visit.mdtrt_id).get(line.feedetl_sn, [])
    create_transfers(
        session,
        [
            TransferRequest(
                id=f"void:{hold_id}",
                kind="void_pending",
                pending_id=hold_id,
                code="hold_cancel",
                reference=visit.mdtrt_id,
            )
            for hold_id in family_credit.line_hold_ids(line, shared)
        ],
        clock=container.clock,
    )
    line.status = "cancelled"
    line.changed_at = container.clock.now()
    session.flush()
    return VisitState(
        visit=visit,
        medfee_sumamt=visit_total(visit),
        available=line_balances(session, visit.psn_no).available,
    )


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
    )


def split_visit(
    container: Container,
    session: Session,
    *,
    visit: Visit,
    hospital_level: int,
    lines: Sequence[FeeLine],
    relatives: Sequence[RelativeAccount] = (),
) -> Settlement:
    """The split (2206) of ``lines`` as it would be now, with this year's accumulators.

    ``relatives``: a family manager's personal account offered for mutual aid when they pay
    (``settlement.usecases.family.links.mutual_aid_accounts``).
    """
    person = require_person(container, session, visit.psn_no)
    visit_day = local_date(container, visit.begntime)
    policy = container.policies.in_force(visit_day)
    accumulators = accumulators_for(
        session,
        person=person,
        policy_year=policy.policy_year(visit_day),
        current_year=policy.policy_year(local_date(container, container.clock.now())),
    )
    return settle(
        [priced_line(row) for row in lines],
        policy=policy,
        hospital_level=hospital_level,
        psn_type=person.psn_type,
        accumulators=accumulators,
        account_balance=quantize_fen(person.balc),
        relatives=relatives,
        visit_date=visit_day,
    )


def presettle(
    uow: UnitOfWork, *, container: Container, hospital: Hospital, mdtrt_id: str
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
    container: Container,
    hospital: Hospital,
    mdtrt_id: str,
    closed_by: str = "his",
    closed_at: datetime | None = None,
) -> CloseResult:
    """End the visit: post its holds and create the bill due in the repayment window.

    Closing a closed visit returns its bill; an empty visit closes as settled.

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
        return CloseResult(visit=visit, bill=existing)
    now = container.clock.now()
    ended = now if closed_at is None else min(closed_at, now)  # a visit never ends in the future
    scheme = container.scheme
    due_at = max(ended + scheme.window, now + scheme.min_notice)
    held = [line for line in visit.fees if line.status == "held"]
    shared = family_credit.shared_holds(session, visit.mdtrt_id)
    posts = [
        TransferRequest(
            id=f"post:{hold_id}",
            kind="post_pending",
            pending_id=hold_id,
            code="bill",
            reference=visit.mdtrt_id,
        )
        for line in held
        for hold_id in family_credit.line_hold_ids(line, shared.get(line.feedetl_sn, []))
    ]
    create_transfers(session, posts, clock=container.clock)
    estimate = split_visit(
        container, session, visit=visit, hospital_level=hospital.level, lines=held
    )
    total_fen = sum(line.det_item_fee_sumamt_fen for line in held)
    for line in held:
        line.status = "billed"
        line.changed_at = now
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
    )
    session.add(bill)
    session.add(
        BillEvent(
            bill_id=bill.bill_id,
            kind="closed",
            from_status=None,
            to_status=status,
            amount_fen=total_fen,
            detail={"closed_by": closed_by},
            created_at=now,
        )
    )
    session.flush()
    return CloseResult(visit=visit, bill=bill)
