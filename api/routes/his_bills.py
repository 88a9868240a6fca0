"""The HIS's bill view (the final split) and its batch cancel (national 5203 and 2205)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import SignedHospitalDep
from api.deps import ContainerDep, UowDep
from api.exact_json import ExactJsonRoute
from api.idempotency import IdempotencyDep
from api.openapi import errors, example_response
from api.presenters import (
    his_setlinfo_public,
    iso,
    mode_public,
    setldetail_public,
    split_subject,
    today,
    visit_public,
)
from api.routes.his import MdtrtId
from api.routes.payments import BillId
from api.schemas.his import VISIT_AFTER_CANCEL_EXAMPLE, VisitPublic
from api.schemas.his_bills import BILL_SPLIT_EXAMPLE, BillSplitPublic
from insurance.money import format_amount, from_fen
from settlement.billing.bills import BillDetail, hospital_bill
from settlement.bootstrap import Container
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging.batches import cancel_batch

router = APIRouter(prefix="/his/v1", tags=["HIS"], route_class=ExactJsonRoute)

ChrgBchno = Annotated[
    str,
    Path(
        min_length=1,
        # Like the other ids in paths: at most 40 (the national chrg_bchno has 30), so a path
        # never holds a run that reads as a 64-hex signature in an access log.
        max_length=40,
        pattern=r"^[\x21-\x7e]+$",
        description="the charge batch (at most 40 characters; a longer one is cancelled line by "
        'line); "0000": every line not settled yet (national 2205)',
        examples=["CB20261123000001"],
    ),
]


def bill_split_public(
    container: Container, session: Session, detail: BillDetail
) -> BillSplitPublic:
    """The bill with the split that stands, or its estimate before it is settled."""
    bill, standing = detail.bill, detail.settlement
    if standing is not None:
        setlinfo, setl_id, setl_time = standing.setlinfo, standing.setl_id, standing.posted_at
    else:
        setlinfo, setl_id, setl_time = bill.estimate, None, None
    subject = split_subject(
        container, session, detail.visit, medins_setl_id=bill.bill_id, setl_time=setl_time
    )
    return BillSplitPublic(
        bill_id=bill.bill_id,
        mdtrt_id=bill.mdtrt_id,
        status=bill.status,
        medfee_sumamt=format_amount(from_fen(bill.medfee_sumamt_fen)),
        closed_at=iso(bill.closed_at),
        due_at=iso(bill.due_at),
        settled_at=iso(bill.settled_at) if bill.settled_at else None,
        settled=standing is not None,
        **mode_public(bill),
        setlinfo=his_setlinfo_public(
            setlinfo, setl_id=setl_id, subject=subject, on=today(container)
        ),
        setldetail=setldetail_public(setlinfo),
    )


@router.get(
    "/bills/{bill_id}",
    response_model=BillSplitPublic,
    summary="A bill's final split (5203)",
    responses={
        200: example_response(BILL_SPLIT_EXAMPLE, "The bill, settled by the patient"),
        **errors("not_found"),
    },
)
def get_bill_split(
    bill_id: BillId, signed: SignedHospitalDep, container: ContainerDep, uow: UowDep
) -> BillSplitPublic:
    """The hospital's bill with the settlement that stands (or the estimate, before it)."""
    hospital = signed.hospital()
    with uow:
        detail = hospital_bill(uow.session, hospital_code=hospital.code, bill_id=bill_id)
        return bill_split_public(container, uow.session, detail)


@router.delete(
    "/visits/{mdtrt_id}/batches/{chrg_bchno}",
    response_model=VisitPublic,
    summary="Cancel a charge batch (2205)",
    responses={
        200: example_response(VISIT_AFTER_CANCEL_EXAMPLE, "The visit, the batch cancelled"),
        **errors("not_found", "visit_closed", "idempotency_key_reused"),
    },
)
def cancel_charge_batch(
    mdtrt_id: MdtrtId,
    chrg_bchno: ChrgBchno,
    signed: SignedHospitalDep,
    container: ContainerDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Cancel every held line of the batch (`0000`: of the visit), releasing their holds."""
    hospital = signed.hospital()

    def action(uow: UnitOfWork) -> tuple[int, VisitPublic]:
        state = cancel_batch(
            uow, container=container, hospital=hospital, mdtrt_id=mdtrt_id, chrg_bchno=chrg_bchno
        )
        return 200, visit_public(state)

    return idem.run(scope=f"his:{hospital.code}", action=action)
