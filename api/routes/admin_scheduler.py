"""Administration of the scheduler (``/admin/v1/scheduler``): what its sweeps could not do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from api.auth import AdminDep
from api.deps import UowDep
from api.exact_json import ExactJsonRoute
from api.openapi import bearer_errors, example_response
from api.presenters import iso
from api.schemas.types import ResponseModel
from settlement.foundation.sweep_failures import recent_failures

router = APIRouter(prefix="/admin/v1", tags=["administration"], route_class=ExactJsonRoute)

EXAMPLE = {
    "sweep": "auto_close",
    "item_id": "MD20261123A1B2C3D4E5F6",
    "error_class": "NoPolicyInForceError",
    "message": "no insurance policy is in force on ####-##-##",
    "failed_at": "2026-11-24T00:00:05+08:00",
}
SWEEP_NAMES = (
    "auto_close, settle_covered, autopay, wallet_orders, reminders, overdue, escalate, expiry, "
    "messages"
)


class SweepFailurePublic(ResponseModel):
    sweep: str = Field(description=f"The sweep that failed on the item: {SWEEP_NAMES}")
    item_id: str = Field(
        description="The item's own id: a visit's mdtrt_id (auto_close), a bill id "
        "(settle_covered, autopay, reminders, overdue, escalate), a wallet order id, an outbox "
        "message id, or the kind of record an expiry purge failed on"
    )
    error_class: str = Field(description="The error's class name")
    message: str = Field(
        description="What went wrong, without personal data: a refusal's error code, or the "
        "error's first line with digits (#) and non-ASCII text (*) masked"
    )
    failed_at: str = Field(description="When the sweep ran (the service's business time)")


@router.get(
    "/scheduler/failures",
    response_model=list[SweepFailurePublic],
    summary="Items the scheduler's sweeps failed on",
    responses={200: example_response([EXAMPLE]), **bearer_errors("validation_error")},
)
def list_sweep_failures(
    _: AdminDep,
    uow: UowDep,
    sweep: Annotated[
        str | None,
        Query(max_length=40, pattern=r"^[a-z_]+$", description="Only this sweep's failures"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many, newest first")] = 100,
) -> list[SweepFailurePublic]:
    """Each failed attempt of a sweep at one item, newest first. A sweep that fails on an item
    records it here, logs an ERROR line, counts it in
    `shuxin_scheduler_sweep_item_failures_total` and goes on with the others; the next run
    tries the item again (and records it again if it fails again). Kept as long as sent
    messages (`message_retention_days`)."""
    with uow:
        rows = recent_failures(uow.session, limit=limit, sweep=sweep)
        return [
            SweepFailurePublic(
                sweep=row.sweep,
                item_id=row.item_id,
                error_class=row.error_class,
                message=row.message,
                failed_at=iso(row.failed_at),
            )
            for row in rows
        ]
