"""HIS refunds (2208): lines of a bill, before or after settlement."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.auth import SignedHospitalDep
from api.deps import ContainerDep
from api.exact_json import ExactJsonRoute
from api.idempotency import IdempotencyDep
from api.logs import audit
from api.openapi import errors
from api.presenters import setldetail_public, setlinfo_public
from api.routes.payments import BillId
from api.schemas.payments import RefundCreate, RefundPublic, ReturnedPublic
from insurance.money import format_amount, from_fen
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.refunding.refunds import RefundResult, refund_lines

router = APIRouter(prefix="/his/v1", tags=["HIS"], route_class=ExactJsonRoute)


def refund_public(result: RefundResult) -> RefundPublic:
    returned = result.returned
    return RefundPublic(
        bill_id=result.bill.bill_id,
        status=result.bill.status,
        refunded=list(result.refunded),
        refund_amount=format_amount(result.refunded_amount),
        medfee_sumamt=format_amount(from_fen(result.bill.medfee_sumamt_fen)),
        setlinfo=setlinfo_public(result.setlinfo, result.setl_id),
        setldetail=setldetail_public(result.setlinfo),
        returned=ReturnedPublic(
            hifp_pay=format_amount(returned.hifp_pay),
            acct_pay=format_amount(returned.acct_pay),
            acct_mulaid_pay=format_amount(returned.acct_mulaid_pay),
            psn_cash_pay=format_amount(returned.psn_cash_pay),
            credit_line=format_amount(returned.credit_line),
        ),
    )


@router.post(
    "/bills/{bill_id}/refunds",
    response_model=RefundPublic,
    summary="Refund lines of a bill (2208), before or after settlement",
    responses=errors(
        "not_found",
        "conflict",
        "already_refunded",
        "unknown_fee_line",
        "idempotency_key_reused",
        "validation_error",
    ),
)
def refund_bill_lines(
    bill_id: BillId,
    body: RefundCreate,
    signed: SignedHospitalDep,
    container: ContainerDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Refund the lines; returns the new amounts and where the money went back, to the fen.

    Before payment, the bill's other lines are then charged to the patient's own credit line
    first: what a family manager's line carried of them moves back as far as the refund freed
    room, so a manager carries only what the patient's line cannot, whatever was refunded.
    """
    hospital = signed.hospital()

    def action(uow: UnitOfWork) -> tuple[int, RefundPublic]:
        result = refund_lines(
            uow,
            container=container,
            hospital=hospital,
            bill_id=bill_id,
            feedetl_sns=body.feedetl_sn,
            reason=body.reason,
        )
        return 200, refund_public(result)

    response = idem.run(scope=f"his:{hospital.code}", action=action)
    audit.info("refund answered", bill_id=bill_id, status=response.status_code)
    return response
