"""Family accounts (亲情账号): a manager invites a relative, who accepts in the app or at a
hospital counter; the manager then signs for, sees, pays and is reminded about the relative."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from api.auth import PatientDep, SignedHospitalDep
from api.deps import ContainerDep, UowDep
from api.exact_json import ExactJsonRoute
from api.idempotency import IdempotencyDep, OptionalIdempotencyDep
from api.openapi import bearer_errors, errors
from api.presenters import credit_public, iso, signed_up_public
from api.routes.patients import bill_summary_public
from api.schemas.family import (
    CounterConfirmation,
    FamilyInvitationCreate,
    FamilyInvitationListPublic,
    FamilyInvitationPublic,
    FamilyLinkPublic,
    FamilyMemberPublic,
    FamilyMembersPublic,
    MutualAidPublic,
    MutualAidUpdate,
    ProxyAgreementSign,
)
from api.schemas.his import CreditPublic
from api.schemas.patients import BillListPublic, BillStatus, CreditDecisionPublic
from credit.identity import mask_certno
from settlement.billing.bills import patient_bills
from settlement.billing.family_tables import FamilyLink
from settlement.bootstrap import Container
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.credit.summary import credit_summary
from settlement.usecases.family import links as family

router = APIRouter(tags=["family"], route_class=ExactJsonRoute)
his_router = APIRouter(prefix="/his/v1", tags=["HIS"], route_class=ExactJsonRoute)

InvitationIdPath = Annotated[
    str, Path(min_length=1, max_length=40, examples=["FL20261123A1B2C3D4E5F6"])
]
MemberPsnNo = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z]{6,40}$", examples=["37140000000000000002"])
]


def link_public(link: FamilyLink) -> FamilyLinkPublic:
    return FamilyLinkPublic(
        invitation_id=link.link_id,
        manager_psn_no=link.manager_psn_no,
        relative_psn_no=link.relative_psn_no,
        relation=link.relation,
        status=link.status,
        invited_at=iso(link.invited_at),
        accepted_via=link.accepted_via,
        accepted_hospital_code=link.accepted_hospital_code,
        accepted_at=iso(link.accepted_at) if link.accepted_at else None,
        ended_at=iso(link.ended_at) if link.ended_at else None,
    )


#: What the manager is to the relative, from what the relative is to the manager.
INVERSE_RELATION = {"spouse": "spouse", "parent": "child", "child": "parent", "other": "other"}


def masked_name(name: str) -> str:
    """A name as the family pages show another person's: the first character only."""
    return name[:1] + "*" * max(1, len(name) - 1)


def invitation_public(
    container: Container, uow: UnitOfWork, link: FamilyLink
) -> FamilyInvitationPublic:
    manager = container.insurance_platform(uow.session).lookup_person(link.manager_psn_no)
    return FamilyInvitationPublic.model_validate(
        {
            **link_public(link).model_dump(),
            "manager_name": masked_name(manager.psn_name if manager is not None else ""),
            "manager_relation": INVERSE_RELATION[link.relation],
        }
    )


def _member(
    container: Container, uow: UnitOfWork, link: FamilyLink, psn_no: str, *, full_name: bool
) -> FamilyMemberPublic:
    person = container.insurance_platform(uow.session).lookup_person(psn_no)
    name = person.psn_name if person is not None else ""
    since = link.accepted_at or link.invited_at
    return FamilyMemberPublic(
        psn_no=psn_no,
        psn_name=name if full_name else masked_name(name),
        certno=mask_certno(person.certno) if person is not None else "",
        relation=link.relation,
        status=link.status,
        invitation_id=link.link_id,
        since=iso(since),
        mutual_aid=link.mutual_aid_since is not None,
    )


def mutual_aid_public(link: FamilyLink) -> MutualAidPublic:
    since = link.mutual_aid_since
    return MutualAidPublic(
        psn_no=link.relative_psn_no,
        relation=link.relation,
        enabled=since is not None,
        since=iso(since) if since is not None else None,
    )


@router.post(
    "/v1/family/invitations",
    status_code=201,
    response_model=FamilyLinkPublic,
    summary="Invite a relative to be managed by you",
    responses=bearer_errors(
        "not_signed",
        "invalid_certno",
        "identity_mismatch",
        "family_link_exists",
        "family_limit_reached",
        "idempotency_key_reused",
        "idempotency_key_in_use",
        "validation_error",
    ),
)
def invite(
    body: FamilyInvitationCreate,
    manager: PatientDep,
    container: ContainerDep,
    idem: OptionalIdempotencyDep,
) -> JSONResponse:
    """You (signed) invite a relative by psn_no and certno; they accept in the app or at a counter.

    Inviting yourself is `validation_error`; limits (policy: 5 relatives per manager, 2 managers
    per relative, invitations included) are `family_limit_reached`; a pending or active link to
    the same person is `family_link_exists`.
    """

    def action(uow: UnitOfWork) -> tuple[int, FamilyLinkPublic]:
        link = family.invite(
            uow.session,
            container=container,
            manager_psn_no=manager,
            psn_no=body.psn_no,
            certno=body.certno,
            relation=body.relation,
        )
        return 201, link_public(link)

    return idem.run(scope=f"patient:{manager}", action=action)


@router.get(
    "/v1/family/invitations",
    response_model=FamilyInvitationListPublic,
    summary="Invitations addressed to me",
    responses=bearer_errors(),
)
def my_invitations(
    psn_no: PatientDep, container: ContainerDep, uow: UowDep
) -> FamilyInvitationListPublic:
    """The invitations waiting for your answer, oldest first, with who invites you."""
    with uow:
        links = family.invitations_for(uow.session, psn_no)
        return FamilyInvitationListPublic(
            invitations=[invitation_public(container, uow, link) for link in links]
        )


@router.post(
    "/v1/family/invitations/{invitation_id}/accept",
    response_model=FamilyLinkPublic,
    summary="Accept an invitation (the relative, with their own login)",
    responses=bearer_errors(
        "not_found", "conflict", "idempotency_key_reused", "idempotency_key_in_use"
    ),
)
def accept(
    invitation_id: InvitationIdPath,
    psn_no: PatientDep,
    container: ContainerDep,
    idem: OptionalIdempotencyDep,
) -> JSONResponse:
    """Accept an invitation addressed to you; an invitation for someone else is `not_found`."""

    def action(uow: UnitOfWork) -> tuple[int, FamilyLinkPublic]:
        link = family.accept(
            uow.session, container=container, invitation_id=invitation_id, psn_no=psn_no
        )
        return 200, link_public(link)

    return idem.run(scope=f"patient:{psn_no}", action=action)


@his_router.post(
    "/family/confirmations",
    response_model=FamilyLinkPublic,
    summary="Confirm a family invitation in person at the counter",
    responses=errors("not_found", "conflict", "idempotency_key_reused", "validation_error"),
)
def confirm_at_counter(
    body: CounterConfirmation,
    signed: SignedHospitalDep,
    container: ContainerDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """The relative, at the counter, accepts; the hospital and the staff member are recorded."""
    hospital = signed.hospital()

    def action(uow: UnitOfWork) -> tuple[int, FamilyLinkPublic]:
        link = family.confirm_at_counter(
            uow.session,
            container=container,
            hospital_code=hospital.code,
            staff_id=body.staff_id,
            invitation_id=body.invitation_id,
            manager_psn_no=body.manager_psn_no,
            relative_psn_no=body.relative_psn_no,
        )
        return 200, link_public(link)

    return idem.run(scope=f"his:{hospital.code}", action=action)


@router.get(
    "/v1/family/members",
    response_model=FamilyMembersPublic,
    summary="My relatives and my managers",
    responses=bearer_errors(),
)
def members(psn_no: PatientDep, container: ContainerDep, uow: UowDep) -> FamilyMembersPublic:
    """As a manager: your relatives (invited or active); as a relative: your managers."""
    with uow:
        found = family.members(uow.session, psn_no)
        return FamilyMembersPublic.model_validate(
            {
                # A manager knows whom they look after (two parents of one surname must be told
                # apart); a relative sees their managers masked, as any other person.
                "relatives": [
                    _member(container, uow, link, link.relative_psn_no, full_name=True)
                    for link in found.relatives
                ],
                "managers": [
                    _member(container, uow, link, link.manager_psn_no, full_name=False)
                    for link in found.managers
                ],
            }
        )


@router.delete(
    "/v1/family/members/{psn_no}",
    response_model=FamilyLinkPublic,
    summary="End a family link (either side)",
    responses=bearer_errors(
        "not_found", "outstanding_balance", "idempotency_key_reused", "idempotency_key_in_use"
    ),
)
def end_link(
    psn_no: MemberPsnNo, me: PatientDep, container: ContainerDep, idem: OptionalIdempotencyDep
) -> JSONResponse:
    """End the link with `psn_no` (your relative or your manager), or withdraw/decline an
    invitation. Refused with `outstanding_balance` while a bill or open visit of the relative
    still uses the manager's credit (its `shared` lists them): pay those first."""

    def action(uow: UnitOfWork) -> tuple[int, FamilyLinkPublic]:
        link = family.end_link(uow.session, container=container, psn_no=me, other_psn_no=psn_no)
        return 200, link_public(link)

    return idem.run(scope=f"patient:{me}", action=action)


@router.post(
    "/v1/family/members/{psn_no}/agreement",
    status_code=201,
    response_model=CreditDecisionPublic,
    summary="Sign the agreement on behalf of a relative you manage",
    responses=bearer_errors(
        "not_found",
        "patient_not_found",
        "version_mismatch",
        "invalid_certno",
        "identity_mismatch",
        "credit_report_unavailable",
        "idempotency_key_reused",
        "idempotency_key_in_use",
        "validation_error",
    ),
)
def proxy_sign(
    psn_no: MemberPsnNo,
    body: ProxyAgreementSign,
    request: Request,
    manager: PatientDep,
    container: ContainerDep,
    idem: OptionalIdempotencyDep,
) -> JSONResponse:
    """Recorded as proxy signing by you, its basis the relative's acceptance of your link."""
    client_addr = request.client.host if request.client is not None else ""
    user_agent = request.headers.get("user-agent", "")

    def action(uow: UnitOfWork) -> tuple[int, CreditDecisionPublic]:
        signed = family.proxy_sign(
            uow.session,
            container=container,
            manager_psn_no=manager,
            psn_no=psn_no,
            certno=body.certno,
            psn_name=body.psn_name,
            version=body.version,
            autopay=body.autopay,
            client_addr=client_addr,
            user_agent=user_agent,
        )
        return 201, signed_up_public(signed)

    return idem.run(scope=f"patient:{manager}", action=action)


@router.get(
    "/v1/family/members/{psn_no}/credit",
    response_model=CreditPublic,
    summary="The credit of a relative you manage",
    responses=bearer_errors("not_found"),
)
def member_credit(
    psn_no: MemberPsnNo, manager: PatientDep, container: ContainerDep, uow: UowDep
) -> CreditPublic:
    """Status, line, available, outstanding and on hold of your relative's own line."""
    with uow:
        family.require_managed(uow.session, manager_psn_no=manager, relative_psn_no=psn_no)
        summary = credit_summary(
            uow.session,
            psn_no=psn_no,
            config=container.credit_config,
            clock=container.clock,
            freeze_shared_on_overdue=container.scheme.family.freeze_shared_on_overdue,
        )
        return credit_public(summary)


@router.get(
    "/v1/family/members/{psn_no}/bills",
    response_model=BillListPublic,
    summary="The bills of a relative you manage",
    responses=bearer_errors("not_found", "validation_error"),
)
def member_bills(
    psn_no: MemberPsnNo,
    manager: PatientDep,
    uow: UowDep,
    status: Annotated[BillStatus | None, Query(description="Only bills in this status")] = None,
) -> BillListPublic:
    """Your relative's bills, newest first; open one with `GET /v1/bills/{bill_id}`, pay it with
    `POST /v1/bills/{bill_id}/payments` (your personal account helps by mutual aid)."""
    with uow:
        family.require_managed(uow.session, manager_psn_no=manager, relative_psn_no=psn_no)
        views = patient_bills(uow.session, psn_no=psn_no, status=status)
        return BillListPublic(bills=[bill_summary_public(view) for view in views])


@router.put(
    "/v1/family/members/{psn_no}/mutual-aid",
    response_model=MutualAidPublic,
    summary="Bind or unbind a relative you manage for family mutual aid (家庭共济)",
    responses=bearer_errors("not_found", "validation_error"),
)
def set_mutual_aid(
    psn_no: MemberPsnNo,
    body: MutualAidUpdate,
    manager: PatientDep,
    container: ContainerDep,
    uow: UowDep,
) -> MutualAidPublic:
    """Your personal account pays your relative's personal share (`acct_mulaid_pay`, for the
    relations the policy allows) only while you have bound them here, and only when you pay
    their bill; the bill's `pay_now` shows it before you pay. Repeating is harmless."""
    with uow:
        link = family.bind_mutual_aid(
            uow.session,
            manager_psn_no=manager,
            relative_psn_no=psn_no,
            enabled=body.enabled,
            now=container.clock.now(),
        )
        uow.commit()
        return mutual_aid_public(link)
