"""The sandbox (``/sandbox/v1``): test persons and a movable clock, for HIS vendors' test suites.

Mounted only in sandbox mode (``SHUXIN_MODE=sandbox``); in production the whole tree is 404. Like a
payment provider's test mode it needs no credentials.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from api.deps import ContainerDep, UowDep
from api.errors import ApiError
from api.exact_json import ExactJsonRoute
from api.openapi import error_responses
from api.presenters import iso
from api.schemas.sandbox import (
    ClockAdvance,
    ClockPublic,
    ClockStatePublic,
    CreditProfilePublic,
    InsuredPersonCreate,
    InsuredPersonPublic,
    YearToDatePublic,
)
from credit.identity import IdentityError, mask_certno
from insurance.money import format_amount, from_fen
from settlement.adapters.sandbox_tables import (
    SandboxInsuredPerson,
    SandboxPerson,
    upsert_sandbox_person,
)
from settlement.foundation.ports import CreditReport, PersonRecord

router = APIRouter(prefix="/sandbox/v1", tags=["sandbox"], route_class=ExactJsonRoute)

SECONDS_PER_HOUR = 3600


def person_public(row: SandboxInsuredPerson) -> InsuredPersonPublic:
    return InsuredPersonPublic(
        psn_no=row.psn_no,
        certno=mask_certno(row.certno),
        psn_name=row.psn_name,
        phone=row.phone,
        insutype=row.insutype,
        psn_type=row.psn_type,
        status=row.status,
        insuplc_admdvs=row.insuplc_admdvs,
        balc=format_amount(from_fen(row.balc_fen)),
        ytd=YearToDatePublic(
            act_pay_dedc=format_amount(from_fen(row.ytd_act_pay_dedc_fen)),
            hifp_pay=format_amount(from_fen(row.ytd_hifp_pay_fen)),
        ),
        credit=CreditProfilePublic(
            rating=row.rating,
            dishonest=row.dishonest,
            contribution_months=row.contribution_months,
        ),
    )


@router.post(
    "/insured-persons",
    status_code=201,
    response_model=InsuredPersonPublic,
    summary="Create or replace a test insured person",
    responses=error_responses("validation_error", "invalid_certno"),
)
def put_insured_person(
    body: InsuredPersonCreate, container: ContainerDep, uow: UowDep
) -> InsuredPersonPublic:
    """A person as the insurance and credit platforms will report them; same psn_no replaces."""
    record = SandboxPerson(
        person=PersonRecord(
            psn_no=body.psn_no,
            psn_name=body.psn_name,
            certno=body.certno,
            phone=body.phone,
            insutype=body.insutype,
            psn_type=body.psn_type,
            status=body.status,
            balc=body.balc,
            insuplc_admdvs=body.insuplc_admdvs,
            ytd_act_pay_dedc=body.ytd.act_pay_dedc,
            ytd_hifp_pay=body.ytd.hifp_pay,
        ),
        credit=CreditReport(
            rating=body.credit.rating,
            dishonest=body.credit.dishonest,
            contribution_months=body.credit.contribution_months,
        ),
    )
    with uow:
        try:
            row = upsert_sandbox_person(uow.session, record)
        except IdentityError as error:
            raise ApiError(
                "invalid_certno",
                error.message,
                reason=error.code,
                fields=[{"path": "certno", "message": error.message, "type": error.code}],
            ) from None
        answer = person_public(row)
        uow.commit()
    return answer


@router.post(
    "/clock/advance",
    response_model=ClockPublic,
    summary="Move the service's clock forward",
    responses=error_responses("validation_error", "conflict"),
)
def advance_clock(body: ClockAdvance, container: ContainerDep) -> ClockPublic:
    """Move business time forward (deadlines, sweeps, visit days, reminders, policy years) for
    every process of the service and the scheduler; it never moves back and survives a restart.
    Authentication keeps the wall clock: sign requests with your own clock as before."""
    clock = container.sandbox_clock
    if clock is None:
        raise ApiError("conflict", "this service's clock is the system clock and cannot move")
    # Hours carry at most two places, so this is a whole number of seconds.
    seconds = int(body.hours * SECONDS_PER_HOUR)
    return ClockPublic(now=iso(clock.advance(timedelta(seconds=seconds))))


@router.get(
    "/clock",
    response_model=ClockStatePublic,
    summary="The service's business time and the wall clock",
)
def read_clock(container: ContainerDep) -> ClockStatePublic:
    """Business time (moved by `POST /sandbox/v1/clock/advance`, shared by every process and kept
    in the database) beside the wall clock that authentication uses."""
    clock = container.sandbox_clock
    advanced = clock.offset if clock is not None else timedelta(0)
    return ClockStatePublic(
        now=iso(container.clock.now()),
        real_time=iso(container.real_clock.now()),
        advanced_seconds=int(advanced.total_seconds()),
    )
