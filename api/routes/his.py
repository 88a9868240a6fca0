"""The HIS calls (``/his/v1``): signed by the hospital, every write idempotent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import SignedHospital, SignedHospitalDep
from api.deps import ChargeGroupsDep, ContainerDep, UowDep
from api.errors import ApiError, status_for
from api.exact_json import ExactJsonRoute
from api.figures import reconciliation_public
from api.idempotency import (
    REPLAY_HEADER,
    IdempotencyDep,
    IdempotentWrite,
    RenderedJSONResponse,
)
from api.logs import audit
from api.metrics import count_fee_batch, refusal_code
from api.openapi import errors, example_response
from api.presenters import (
    close_public,
    credit_public,
    fee_batch_public,
    his_setlinfo_public,
    setldetail_public,
    split_subject,
    today,
    visit_public,
)
from api.schemas.his import (
    CLOSE_EXAMPLE,
    FEE_BATCH_EXAMPLE,
    PRESETTLE_EXAMPLE,
    VISIT_AFTER_CANCEL_EXAMPLE,
    VISIT_CLOSED_EXAMPLE,
    VISIT_OPENED_EXAMPLE,
    ClosePublic,
    CreditPublic,
    FeeBatchCreate,
    FeeBatchPublic,
    PresettlePublic,
    ReconciliationPublic,
    VisitCreate,
    VisitPublic,
)
from api.schemas.types import Day, PsnNo
from settlement.billing.tables import Visit
from settlement.bootstrap import Container
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging import visits
from settlement.usecases.charging.groups import ChargeGroups, ChargeRequest
from settlement.usecases.credit.summary import credit_summary, platform_ineligibility
from settlement.usecases.paying import closing
from settlement.usecases.reporting.reconciliation import reconcile_day

router = APIRouter(prefix="/his/v1", tags=["HIS"], route_class=ExactJsonRoute)

MdtrtId = Annotated[str, Path(min_length=1, max_length=40, examples=["MD20261123A1B2C3D4E5F6"])]


@router.get(
    "/patients/{psn_no}/credit",
    response_model=CreditPublic,
    summary="Credit standing of a patient (1101)",
    responses=errors("patient_not_found", "validation_error"),
)
def patient_credit(
    psn_no: PsnNo, signed: SignedHospitalDep, container: ContainerDep, uow: UowDep
) -> CreditPublic:
    """Status, line, available, outstanding, on hold and the reasons for the line.

    A person the insurance or credit platform excludes now (not employee insurance 310, insurance
    not active, on the dishonest-debtor list) is `not_eligible` with those reasons, signed or not.
    """
    signed.hospital()  # any hospital may ask; the nonce is recorded before anything is read
    with uow:
        person = visits.require_person(container, uow.session, psn_no)
        summary = credit_summary(
            uow.session,
            psn_no=psn_no,
            config=container.credit_config,
            clock=container.clock,
            freeze_shared_on_overdue=container.scheme.family.freeze_shared_on_overdue,
            ineligible=platform_ineligibility(person, container.credit_platform(uow.session)),
        )
        return credit_public(summary)


@router.post(
    "/visits",
    status_code=201,
    response_model=VisitPublic,
    summary="Open a visit (2201)",
    responses={
        201: example_response(VISIT_OPENED_EXAMPLE, "The visit, open"),
        **errors(
            "patient_not_found",
            "not_signed",
            "not_eligible",
            "credit_frozen",
            "suspended",
            "duplicate_visit",
            "idempotency_key_reused",
            "validation_error",
        ),
    },
)
def open_visit(
    body: VisitCreate, signed: SignedHospitalDep, container: ContainerDep, idem: IdempotencyDep
) -> JSONResponse:
    """Open a visit on the patient's credit; `ipt_otp_no` is unique per hospital."""
    hospital = signed.hospital()
    request = visits.VisitRequest(**body.model_dump())

    def action(uow: UnitOfWork) -> tuple[int, VisitPublic]:
        state = visits.open_visit(uow, container=container, hospital=hospital, request=request)
        return 201, visit_public(state)

    return idem.run(scope=f"his:{hospital.code}", action=action)


@router.get(
    "/visits/{mdtrt_id}",
    response_model=VisitPublic,
    summary="A visit, its lines and totals",
    responses={
        200: example_response(VISIT_CLOSED_EXAMPLE, "The visit (here once closed)"),
        **errors("not_found"),
    },
)
def get_visit(mdtrt_id: MdtrtId, signed: SignedHospitalDep, uow: UowDep) -> VisitPublic:
    """The visit with every fee line (held, cancelled, billed, refunded) and its totals."""
    hospital = signed.hospital()
    with uow:
        return visit_public(visits.get_visit(uow, hospital=hospital, mdtrt_id=mdtrt_id))


@router.post(
    "/visits/{mdtrt_id}/fees",
    status_code=201,
    response_model=FeeBatchPublic,
    summary="Post a charge batch (2204)",
    responses={
        201: example_response(FEE_BATCH_EXAMPLE, "Every line priced and held"),
        **errors(
            "not_found",
            "insufficient_credit",
            "visit_closed",
            "duplicate_fee",
            "credit_frozen",
            "amount_mismatch",
            "idempotency_key_reused",
            "validation_error",
        ),
    },
)
async def post_fees(
    mdtrt_id: MdtrtId,
    body: FeeBatchCreate,
    signed: SignedHospitalDep,
    container: ContainerDep,
    idem: IdempotencyDep,
    groups: ChargeGroupsDep,
) -> JSONResponse:
    """Price the batch and hold all of it against the credit line, or none of it."""
    # One trip to the thread pool: the nonce is recorded there, first (see SignedHospital).
    return await run_in_threadpool(_post_fees, mdtrt_id, body, signed, container, idem, groups)


def _post_fees(
    mdtrt_id: str,
    body: FeeBatchCreate,
    signed: SignedHospital,
    container: Container,
    idem: IdempotentWrite,
    groups: ChargeGroups,
) -> JSONResponse:
    try:
        response = _post_fee_batch(mdtrt_id, body, signed, container, idem, groups)
    except (ApiError, ServiceError) as refusal:  # a replayed nonce, a key still in use
        count_fee_batch(status_for(refusal.code), refusal.code, replayed=False)
        raise
    code = refusal_code(response)
    count_fee_batch(response.status_code, code, replayed=REPLAY_HEADER in response.headers)
    if code is not None:
        audit.info("fee batch refused", mdtrt_id=mdtrt_id, code=code)
    return response


def _post_fee_batch(
    mdtrt_id: str,
    body: FeeBatchCreate,
    signed: SignedHospital,
    container: Container,
    idem: IdempotentWrite,
    groups: ChargeGroups,
) -> JSONResponse:
    # On PostgreSQL the group records the nonce first, with those of the batches posted with
    # it (one statement for all); elsewhere, and for a batch the group leaves, it is recorded
    # here before anything else, as every HIS route records it.
    nonce = signed.nonce_claim()
    hospital = signed.hospital() if nonce is None else signed.unrecorded_hospital()
    fees = [visits.FeeRequest(**fee.model_dump()) for fee in body.fees]
    scope = f"his:{hospital.code}"
    # Most batches post in a group with those that arrive with them (settlement.usecases.
    # charging.groups); one the group leaves (to be refused, or unusual) is posted on its own.
    posted = groups.post(
        ChargeRequest(
            hospital=hospital,
            mdtrt_id=mdtrt_id,
            chrg_bchno=body.chrg_bchno,
            fees=tuple(fees),
            scope=scope,
            key=idem.key,
            fingerprint=idem.fingerprint,
            nonce=nonce,
        )
    )
    if posted is not None:
        return RenderedJSONResponse(posted.answer.encode(), status_code=201)
    if nonce is not None:
        hospital = signed.hospital()  # the group left it: its nonce now (401 for a replay)

    def action(uow: UnitOfWork) -> tuple[int, FeeBatchPublic]:
        result = visits.post_fees(
            uow,
            container=container,
            hospital=hospital,
            mdtrt_id=mdtrt_id,
            chrg_bchno=body.chrg_bchno,
            fees=fees,
        )
        return 201, fee_batch_public(result)

    return idem.run(scope=scope, action=action)


def render_fee_batch(result: visits.FeeBatchResult) -> str:
    """A posted batch's answer, as stored and sent.

    The bytes :func:`api.idempotency.render_json` makes of the model's JSON form (same keys,
    order and escapes: ``tests/unit/api/test_fee_batch_answer.py``), serialised by pydantic's
    core in one step instead of through a dict and ``json.dumps`` (~60 µs less per batch).
    """
    return fee_batch_public(result).model_dump_json()


@router.delete(
    "/visits/{mdtrt_id}/fees/{feedetl_sn}",
    response_model=VisitPublic,
    summary="Cancel a fee line (2205)",
    responses={
        200: example_response(VISIT_AFTER_CANCEL_EXAMPLE, "The visit, the line cancelled"),
        **errors("not_found", "visit_closed", "idempotency_key_reused"),
    },
)
def cancel_fee(
    mdtrt_id: MdtrtId,
    feedetl_sn: Annotated[str, Path(min_length=1, max_length=30)],
    signed: SignedHospitalDep,
    container: ContainerDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Cancel one line of an open visit, releasing its hold; returns the visit.

    The visit's other lines are then held on the patient's own credit line first: what a family
    manager's line held of them moves back as far as the cancellation freed room.
    """
    hospital = signed.hospital()

    def action(uow: UnitOfWork) -> tuple[int, VisitPublic]:
        state = visits.cancel_fee(
            uow, container=container, hospital=hospital, mdtrt_id=mdtrt_id, feedetl_sn=feedetl_sn
        )
        return 200, visit_public(state)

    return idem.run(scope=f"his:{hospital.code}", action=action)


@router.post(
    "/visits/{mdtrt_id}/presettle",
    response_model=PresettlePublic,
    summary="Pre-settle (2206): the split as it would be now",
    responses={
        200: example_response(PRESETTLE_EXAMPLE, "The split of the lines on hold"),
        **errors("not_found", "idempotency_key_reused"),
    },
)
def presettle(
    mdtrt_id: MdtrtId, signed: SignedHospitalDep, container: ContainerDep, idem: IdempotencyDep
) -> JSONResponse:
    """The split of the lines on hold, changing nothing."""
    hospital = signed.hospital()

    def action(uow: UnitOfWork) -> tuple[int, PresettlePublic]:
        settlement = visits.presettle(
            uow, container=container, hospital=hospital, mdtrt_id=mdtrt_id
        )
        info = settlement.setlinfo.as_dict()
        subject = split_subject(
            container, uow.session, uow.session.get_one(Visit, mdtrt_id), medins_setl_id=""
        )
        return 200, PresettlePublic(
            mdtrt_id=mdtrt_id,
            setlinfo=his_setlinfo_public(info, setl_id=None, subject=subject, on=today(container)),
            setldetail=setldetail_public(info),
        )

    return idem.run(scope=f"his:{hospital.code}", action=action)


@router.post(
    "/visits/{mdtrt_id}/close",
    response_model=ClosePublic,
    summary="Close the visit into a bill due in 72 hours (settled at once when covered)",
    responses={
        200: example_response(
            CLOSE_EXAMPLE,
            "The bill, due in 72 hours; `settled` when the insurance accounts cover it entirely",
        ),
        **errors("not_found", "idempotency_key_reused"),
    },
)
def close_visit(
    mdtrt_id: MdtrtId, signed: SignedHospitalDep, container: ContainerDep, idem: IdempotencyDep
) -> JSONResponse:
    """Post the holds, create the bill with its deadline and estimate; closing twice is harmless
    (the same bill, settled once).

    A bill the pooled fund and the patient's own personal account cover entirely (nothing for the
    wallet) is settled from them in the same transaction and the patient is told: signing the
    agreement consents to it. Should the insurance platform fail, the bill stays `billed` and
    payable and the scheduler settles it when the platform answers."""
    hospital = signed.hospital()

    def action(uow: UnitOfWork) -> tuple[int, ClosePublic]:
        result = closing.close_visit(uow, container=container, hospital=hospital, mdtrt_id=mdtrt_id)
        subject = split_subject(
            container, uow.session, result.visit, medins_setl_id=result.bill.bill_id
        )
        return 200, close_public(result, subject, today(container))

    return idem.run(scope=f"his:{hospital.code}", action=action)


@router.get(
    "/reconciliation",
    response_model=ReconciliationPublic,
    summary="The hospital's day, reconciled with the ledger (3201)",
    responses=errors("validation_error"),
)
def reconciliation(
    signed: SignedHospitalDep,
    container: ContainerDep,
    uow: UowDep,
    date: Annotated[Day, Query(description="the local day, YYYY-MM-DD", examples=["2026-11-23"])],
) -> ReconciliationPublic:
    """Counts and sums of the calling hospital's day, each also recomputed from the ledger."""
    hospital = signed.hospital()
    with uow:
        report = reconcile_day(
            uow.session,
            hospital_code=hospital.code,
            day=date,
            zone=container.settings.timezone,
        )
        return reconciliation_public(report)
