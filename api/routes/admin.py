"""Administration (``/admin/v1``): catalogue items and the daily report, with the admin token."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response

from api.auth import AdminDep
from api.deps import ContainerDep, UowDep
from api.exact_json import ExactJsonRoute
from api.figures import daily_report_public
from api.openapi import bearer_errors
from api.presenters import exact, iso
from api.schemas.admin import (
    CatalogueItemPublic,
    CatalogueItemPut,
    DailyReportPublic,
    PolicyListPublic,
    PolicyPublic,
)
from api.schemas.payments import AnomalyResolution, WalletAnomalyListPublic, WalletAnomalyPublic
from api.schemas.types import Day
from insurance.catalogue import CatalogueItem
from insurance.money import format_amount, from_fen
from settlement.billing.catalogue import CatalogueItemRow, put_item
from settlement.foundation.errors import ServiceError
from settlement.usecases.paying.anomalies import recent_anomalies
from settlement.usecases.reporting.reports import daily_report

router = APIRouter(prefix="/admin/v1", tags=["administration"], route_class=ExactJsonRoute)

MedListCodg = Annotated[
    str,
    Path(
        min_length=1,
        max_length=50,
        pattern=r"^[\x21-\x7e]+$",
        description="The national catalogue code (visible ASCII, 1–50 characters)",
        examples=["001102000040000"],
    ),
]


def item_public(row: CatalogueItemRow) -> CatalogueItemPublic:
    return CatalogueItemPublic(
        med_list_codg=row.med_list_codg,
        item_name=row.item_name,
        chrgitm_lv=row.chrgitm_lv,
        selfpay_prop=_plain(row.selfpay_prop),
        pric_uplmt_amt=exact(row.pric_uplmt_amt) if row.pric_uplmt_amt is not None else None,
        category=row.category,
        lmt_used_flag=row.lmt_used_flag,
        updated_at=iso(row.updated_at),
    )


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


@router.put(
    "/catalogue/{med_list_codg}",
    response_model=CatalogueItemPublic,
    summary="Create or replace a catalogue item",
    responses={
        201: {"description": "The item was created", "model": CatalogueItemPublic},
        **bearer_errors("validation_error"),
    },
)
def put_catalogue_item(
    med_list_codg: MedListCodg,
    body: CatalogueItemPut,
    _: AdminDep,
    container: ContainerDep,
    uow: UowDep,
    response: Response,
) -> CatalogueItemPublic:
    """Create (201) or replace (200) an item; a retry changes nothing, so no key is needed."""
    with uow:
        existing = uow.session.get(CatalogueItemRow, med_list_codg)
        category = body.category
        if category is None:
            category = existing.category if existing is not None else ""
        row, created = put_item(
            uow.session,
            CatalogueItem(
                med_list_codg=med_list_codg,
                item_name=body.item_name,
                chrgitm_lv=body.chrgitm_lv,
                selfpay_prop=body.selfpay_prop,
                pric_uplmt_amt=body.pric_uplmt_amt,
                category=category,
                lmt_used_flag=body.lmt_used_flag,
            ),
            now=container.clock.now(),
        )
        answer = item_public(row)
        uow.commit()
    response.status_code = 201 if created else 200
    return answer


@router.get(
    "/catalogue/{med_list_codg}",
    response_model=CatalogueItemPublic,
    summary="A catalogue item",
    responses=bearer_errors("not_found", "validation_error"),
)
def get_catalogue_item(med_list_codg: MedListCodg, _: AdminDep, uow: UowDep) -> CatalogueItemPublic:
    """The item as pricing uses it: class, first self-pay share and price cap."""
    with uow:
        row = uow.session.get(CatalogueItemRow, med_list_codg)
        if row is None:
            raise ServiceError("not_found", f"no catalogue item {med_list_codg}")
        return item_public(row)


@router.get(
    "/policies",
    response_model=PolicyListPublic,
    summary="The regional insurance policies in use",
    responses=bearer_errors(),
)
def list_policies(_: AdminDep, container: ContainerDep) -> PolicyListPublic:
    """Every policy version loaded (``seeds/policies``), with its settlement mode: whether the
    pooled fund's share settles at repayment or when the visit closes."""
    return PolicyListPublic(
        policies=[
            PolicyPublic(
                region_code=policy.region_code,
                region_name=policy.region_name,
                version=policy.version,
                effective_from=policy.effective_from.isoformat(),
                effective_to=policy.effective_to.isoformat() if policy.effective_to else None,
                settlement_mode=policy.settlement_mode,
                deductible=format_amount(policy.deductible),
                policy_year_start_month=policy.policy_year_start_month,
            )
            for policy in container.policies.policies
        ]
    )


@router.get(
    "/reports/daily",
    response_model=DailyReportPublic,
    summary="The daily report, per hospital",
    responses=bearer_errors("not_found", "validation_error"),
)
def get_daily_report(
    _: AdminDep,
    container: ContainerDep,
    uow: UowDep,
    day: Annotated[
        Day,
        Query(
            alias="date",
            description="The calendar day (YYYY-MM-DD) in the scheme's time zone",
            examples=["2026-11-23"],
        ),
    ],
    hospital: Annotated[
        str | None,
        Query(max_length=32, description="Only this hospital", examples=["H37140200001"]),
    ] = None,
) -> DailyReportPublic:
    """What happened on a day: sign-ups and credit, and per hospital visits, bills closed,
    settlements by payer net of refunds, refunds, outstanding and overdue at its end; each
    hospital's money figures are its reconciliation's (3201) for the same day."""
    zone = ZoneInfo(container.settings.timezone)
    with uow:
        report = daily_report(uow.session, day=day, zone=zone, hospital_code=hospital)
    return daily_report_public(report, timezone=zone.key)


@router.get(
    "/wallet-anomalies",
    response_model=WalletAnomalyListPublic,
    summary="Wallet outcomes that contradicted the recorded one, for reconciliation",
    responses=bearer_errors("validation_error"),
)
def get_wallet_anomalies(
    _: AdminDep,
    uow: UowDep,
    resolution: Annotated[
        AnomalyResolution | None, Query(description="Only those resolved this way")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many")] = 100,
) -> WalletAnomalyListPublic:
    """A SUCCESS after a FAIL (or the reverse), settled by the provider's own record: the money
    applied to the bill, refunded through the wallet, the record kept, or left unresolved."""
    with uow:
        rows = recent_anomalies(uow.session, resolution=resolution, limit=limit)
        return WalletAnomalyListPublic(
            anomalies=[
                WalletAnomalyPublic(
                    id=row.id,
                    provider=row.provider,
                    order_id=row.order_id,
                    bill_id=row.bill_id,
                    recorded=row.recorded,
                    reported=row.reported,
                    provider_status=row.provider_status,
                    amount=format_amount(from_fen(row.amount_fen)),
                    resolution=row.resolution,
                    setl_id=row.setl_id,
                    refund_id=row.refund_id,
                    created_at=iso(row.created_at),
                )
                for row in rows
            ]
        )
