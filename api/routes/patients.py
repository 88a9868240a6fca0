"""A patient's own credit and bills (``/v1/me``, ``/v1/bills``), with their bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.auth import PatientDep
from api.deps import ContainerDep, UowDep
from api.exact_json import ExactJsonRoute
from api.openapi import bearer_errors
from api.presenters import credit_public, fee_public, iso, mode_public, setlinfo_public
from api.schemas.his import CreditPublic
from api.schemas.patients import (
    BillEventPublic,
    BillListPublic,
    BillPaymentPublic,
    BillPublic,
    BillStatus,
    BillSummaryPublic,
    PayNowPublic,
)
from insurance.money import format_amount, from_fen
from settlement.billing.bills import BillDetail, BillView, patient_bill, patient_bills
from settlement.usecases.credit.summary import credit_summary
from settlement.usecases.family.links import bill_owner_for
from settlement.usecases.paying.service import preview_payment

router = APIRouter(tags=["patients"], route_class=ExactJsonRoute)

SETTLED = frozenset({"settled", "settled_late"})
BillId = Annotated[str, Path(min_length=1, max_length=40, examples=["BL20261123A1B2C3D4E5F6"])]


def _summary_fields(view: BillView | BillDetail) -> dict[str, object]:
    bill, settlement = view.bill, view.settlement
    return {
        "bill_id": bill.bill_id,
        "mdtrt_id": bill.mdtrt_id,
        "hospital_code": bill.hospital_code,
        "hospital_name": view.hospital_name,
        "status": bill.status,
        "medfee_sumamt": format_amount(from_fen(bill.medfee_sumamt_fen)),
        "closed_at": iso(bill.closed_at),
        "due_at": iso(bill.due_at),
        "settled_at": iso(bill.settled_at) if bill.settled_at else None,
        **mode_public(bill),
        "estimate": setlinfo_public(bill.estimate),
        # The settlement as stored when it was made (what the payment or refund answered).
        "setlinfo": None
        if settlement is None
        else setlinfo_public(settlement.setlinfo, settlement.setl_id),
    }


def bill_summary_public(view: BillView) -> BillSummaryPublic:
    return BillSummaryPublic.model_validate(_summary_fields(view))


def bill_public(detail: BillDetail, *, pay_now: PayNowPublic | None = None) -> BillPublic:
    visit = detail.visit
    return BillPublic.model_validate(
        {
            **_summary_fields(detail),
            "med_type": visit.med_type,
            "dept_code": visit.dept_code,
            "dept_name": visit.dept_name,
            "dr_name": visit.dr_name,
            "begntime": iso(visit.begntime),
            "fees": [fee_public(line) for line in detail.lines],
            "paid": _paid(detail),
            "pay_now": pay_now,
            "events": [
                BillEventPublic(
                    kind=event.kind,
                    from_status=event.from_status,
                    to_status=event.to_status,
                    amount=format_amount(from_fen(event.amount_fen)),
                    at=iso(event.created_at),
                )
                for event in detail.events
            ],
        }
    )


def _paid(detail: BillDetail) -> BillPaymentPublic | None:
    bill, settlement = detail.bill, detail.settlement
    if settlement is None or bill.settled_at is None or bill.status not in SETTLED:
        return None
    return BillPaymentPublic(
        payer_psn_no=settlement.payer_psn_no,
        channel=settlement.channel,
        wallet=settlement.provider,
        acct_pay=str(settlement.setlinfo.get("acct_pay", "0.00")),
        psn_cash_pay=str(settlement.setlinfo.get("psn_cash_pay", "0.00")),
        paid_at=iso(bill.settled_at),
    )


@router.get(
    "/v1/me/credit",
    response_model=CreditPublic,
    summary="My credit line",
    responses=bearer_errors(),
)
def my_credit(psn_no: PatientDep, container: ContainerDep, uow: UowDep) -> CreditPublic:
    """Status, line, available, outstanding, on hold and the reasons for the line."""
    with uow:
        summary = credit_summary(
            uow.session,
            psn_no=psn_no,
            config=container.credit_config,
            clock=container.clock,
            freeze_shared_on_overdue=container.scheme.family.freeze_shared_on_overdue,
        )
        return credit_public(summary)


@router.get(
    "/v1/me/bills",
    response_model=BillListPublic,
    summary="My bills, newest first",
    responses=bearer_errors("validation_error"),
)
def my_bills(
    psn_no: PatientDep,
    uow: UowDep,
    status: Annotated[BillStatus | None, Query(description="Only bills in this status")] = None,
) -> BillListPublic:
    """Every bill of yours, newest first, each with its deadline and estimated split."""
    with uow:
        views = patient_bills(uow.session, psn_no=psn_no, status=status)
        return BillListPublic(bills=[bill_summary_public(view) for view in views])


@router.get(
    "/v1/bills/{bill_id}",
    response_model=BillPublic,
    summary="One of my bills (or a relative's I manage), with its lines and history",
    responses=bearer_errors("not_found", "validation_error"),
)
def get_bill(
    bill_id: BillId, psn_no: PatientDep, container: ContainerDep, uow: UowDep
) -> BillPublic:
    """The bill with its fee lines, the estimate, the visit's department and doctor, its events,
    and `pay_now`: exactly what paying it now would take, for you."""
    with uow:
        # A family manager may open a relative's bill (settlement.usecases.family.links).
        owner = bill_owner_for(uow.session, viewer_psn_no=psn_no, bill_id=bill_id)
        detail = patient_bill(uow.session, psn_no=owner, bill_id=bill_id)
        preview = preview_payment(
            uow.session, container=container, bill=detail.bill, payer_psn_no=psn_no
        )
        pay_now = (
            None
            if preview is None
            else PayNowPublic(
                setlinfo=setlinfo_public(preview.setlinfo), split_version=preview.split_version
            )
        )
        return bill_public(detail, pay_now=pay_now)
