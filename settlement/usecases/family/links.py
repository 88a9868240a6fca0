"""Family use cases: invite, accept (app or counter), list, end, proxy signing, who may see/pay.

Every function takes the caller's session, flushes and never commits. ``relation`` is what the
relative is to the manager (``parent``: the manager looks after a parent), the same sense the
insurance split's ``RelativeAccount.relation`` has, so mutual aid can pass it on unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from credit.identity import IdentityError, validate_certno
from insurance.money import quantize_fen
from insurance.split import RelativeAccount
from settlement.billing import bill_states
from settlement.billing.family_tables import (
    ACCEPTED_AT_COUNTER,
    ACCEPTED_IN_APP,
    ACTIVE,
    ENDED,
    INVITED,
    LIVE,
    RELATIONS,
    FamilyLink,
    SharedHold,
)
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.foundation.db import lock_until_commit
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.usecases.credit.agreements import CreditContext, SignUp, sign_up
from settlement.usecases.credit.decisions import credit_standing
from settlement.usecases.family.sharing import SharingContext

#: The channel recorded on an agreement a manager signs for a relative.
PROXY_CHANNEL = "family_proxy"


class LinksContext(SharingContext, CreditContext, Protocol):
    """What the family's use cases need of the process: sharing's and sign-up's collaborators
    (a manager signs for a relative); the process's ``Container`` is one."""


@dataclass(frozen=True)
class Members:
    """The people linked to one person: the relatives they manage and their own managers."""

    relatives: list[FamilyLink]
    managers: list[FamilyLink]


@dataclass(frozen=True)
class ProxySignUp(SignUp):
    """A sign-up by a manager for a relative, with the link that is its basis."""

    link: FamilyLink


# -- locks and queries ---------------------------------------------------------------------------


def lock_family(session: Session, *psn_nos: str) -> None:
    """Serialise link changes of these people until commit (PostgreSQL advisory locks, in
    ``psn_no`` order so two writers never wait on each other crosswise)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite writers already hold the database write lock
    for psn_no in sorted(set(psn_nos)):
        lock_until_commit(session, f"family:{psn_no}")


def active_link(
    session: Session, *, manager_psn_no: str, relative_psn_no: str
) -> FamilyLink | None:
    """The active link from ``manager_psn_no`` to ``relative_psn_no``, if there is one."""
    return session.scalars(
        select(FamilyLink).where(
            FamilyLink.manager_psn_no == manager_psn_no,
            FamilyLink.relative_psn_no == relative_psn_no,
            FamilyLink.status == ACTIVE,
        )
    ).first()


def require_managed(session: Session, *, manager_psn_no: str, relative_psn_no: str) -> FamilyLink:
    """The active link, or ``not_found``: a stranger learns nothing about the person."""
    link = active_link(session, manager_psn_no=manager_psn_no, relative_psn_no=relative_psn_no)
    if link is None:
        raise ServiceError("not_found", f"you do not manage {relative_psn_no}")
    return link


def managers_of(session: Session, relative_psn_no: str) -> list[str]:
    """The active managers of a relative, in link order (oldest accepted first)."""
    query = (
        select(FamilyLink.manager_psn_no)
        .where(FamilyLink.relative_psn_no == relative_psn_no, FamilyLink.status == ACTIVE)
        .order_by(FamilyLink.accepted_at, FamilyLink.link_id)
    )
    return list(session.scalars(query))


def can_view_bill(session: Session, psn_no: str, bill: Bill) -> bool:
    """The patient sees their own bills; an active family manager sees the relative's."""
    return bill.psn_no == psn_no or (
        active_link(session, manager_psn_no=psn_no, relative_psn_no=bill.psn_no) is not None
    )


def can_pay_bill(session: Session, payer_psn_no: str, bill: Bill) -> bool:
    """The patient pays their own bills; an active family manager may pay the relative's."""
    return can_view_bill(session, payer_psn_no, bill)


def bill_owner_for(session: Session, *, viewer_psn_no: str, bill_id: str) -> str:
    """Whose bill to look ``bill_id`` up as: its patient if ``viewer_psn_no`` may see it, else
    the viewer (so the lookup answers ``not_found`` without revealing the bill)."""
    bill = session.get(Bill, bill_id)
    if bill is not None and can_view_bill(session, viewer_psn_no, bill):
        return bill.psn_no
    return viewer_psn_no


def mutual_aid_accounts(
    session: Session, *, container: LinksContext, payer_psn_no: str, bill: Bill
) -> list[RelativeAccount]:
    """The payer's personal account offered for mutual aid when a manager pays a relative's bill.

    Empty when the patient pays their own bill, the payer manages them no longer, or the payer
    has not bound them for mutual aid (:func:`bind_mutual_aid`: a standing consent). The relation
    goes to the split unchanged; the policy decides which relations pay (``other`` does not).
    """
    if payer_psn_no == bill.psn_no:
        return []
    link = active_link(session, manager_psn_no=payer_psn_no, relative_psn_no=bill.psn_no)
    if link is None or link.mutual_aid_since is None:
        return []  # mutual aid only where the account's owner bound the relative
    person = container.insurance_platform(session).lookup_person(payer_psn_no)
    if person is None:
        return []
    return [RelativeAccount(payer_psn_no, link.relation, quantize_fen(person.balc))]


def bind_mutual_aid(
    session: Session, *, manager_psn_no: str, relative_psn_no: str, enabled: bool, now: datetime
) -> FamilyLink:
    """The manager binds (``enabled``) or unbinds the relative for family mutual aid (家庭共济).

    A standing consent, as the national binding works: while it holds, the manager's personal
    account pays the relative's personal share (as the policy's relations allow) whenever the
    manager pays a bill of theirs; turning it on again keeps its first date. ``not_found`` for
    anyone the caller does not manage. A payment already under way keeps the split it took.
    """
    lock_family(session, manager_psn_no, relative_psn_no)
    link = require_managed(session, manager_psn_no=manager_psn_no, relative_psn_no=relative_psn_no)
    if not enabled:
        link.mutual_aid_since = None
    elif link.mutual_aid_since is None:
        link.mutual_aid_since = now
    session.flush()
    return link


def members(session: Session, psn_no: str) -> Members:
    """The live links of ``psn_no``, as manager and as relative, oldest first."""
    query = (
        select(FamilyLink)
        .where(FamilyLink.status.in_(LIVE))
        .order_by(FamilyLink.invited_at, FamilyLink.link_id)
    )
    relatives = session.scalars(query.where(FamilyLink.manager_psn_no == psn_no)).all()
    managers = session.scalars(query.where(FamilyLink.relative_psn_no == psn_no)).all()
    return Members(relatives=list(relatives), managers=list(managers))


def invitations_for(session: Session, psn_no: str) -> list[FamilyLink]:
    """The invitations addressed to ``psn_no`` and still waiting for an answer."""
    query = (
        select(FamilyLink)
        .where(FamilyLink.relative_psn_no == psn_no, FamilyLink.status == INVITED)
        .order_by(FamilyLink.invited_at, FamilyLink.link_id)
    )
    return list(session.scalars(query))


def _live_count(session: Session, column: InstrumentedAttribute[str], psn_no: str) -> int:
    query = select(func.count()).where(column == psn_no, FamilyLink.status.in_(LIVE))
    return int(session.scalar(query) or 0)


# -- links ---------------------------------------------------------------------------------------


def invite(
    session: Session,
    *,
    container: LinksContext,
    manager_psn_no: str,
    psn_no: str,
    certno: str,
    relation: str,
) -> FamilyLink:
    """Invite a relative, whose certno must match the insurance record of ``psn_no``."""
    if relation not in RELATIONS:
        raise ServiceError("validation_error", f"relation must be one of {', '.join(RELATIONS)}")
    if psn_no == manager_psn_no:
        raise ServiceError(
            "validation_error",
            "you cannot invite yourself",
            fields=[{"path": "psn_no", "message": "is your own", "type": "self_invitation"}],
        )
    now = container.clock.now()
    try:
        certno = validate_certno(certno, today=now.date())
    except IdentityError as error:
        raise ServiceError("invalid_certno", error.message, reason=error.code) from None
    standing = credit_standing(
        session, manager_psn_no, config=container.credit_config, clock=container.clock
    )
    if standing.status == "not_signed":
        raise ServiceError("not_signed", "sign the service agreement before inviting relatives")
    person = container.insurance_platform(session).lookup_person(psn_no)
    if person is None or person.certno.upper() != certno:
        # One answer for an unknown psn_no and a wrong certno: nobody learns who is insured.
        raise ServiceError(
            "identity_mismatch", "the identity number does not match the insurance record"
        )
    lock_family(session, manager_psn_no, psn_no)
    existing = session.scalars(
        select(FamilyLink).where(
            FamilyLink.manager_psn_no == manager_psn_no,
            FamilyLink.relative_psn_no == psn_no,
            FamilyLink.status.in_(LIVE),
        )
    ).first()
    if existing is not None:
        raise ServiceError(
            "family_link_exists",
            f"you already {'invited' if existing.status == INVITED else 'manage'} {psn_no}",
            invitation_id=existing.link_id,
            status=existing.status,
        )
    _check_limits(session, container, manager_psn_no=manager_psn_no, relative_psn_no=psn_no)
    link = FamilyLink(
        link_id=new_id("FL", now),
        manager_psn_no=manager_psn_no,
        relative_psn_no=psn_no,
        relation=relation,
        status=INVITED,
        invited_by_psn_no=manager_psn_no,
        certno_checked=True,
        invited_at=now,
    )
    session.add(link)
    session.flush()
    return link


def _check_limits(
    session: Session, container: LinksContext, *, manager_psn_no: str, relative_psn_no: str
) -> None:
    policy = container.scheme.family
    relatives = _live_count(session, FamilyLink.manager_psn_no, manager_psn_no)
    if relatives >= policy.max_relatives_per_manager:
        raise ServiceError(
            "family_limit_reached",
            f"a manager looks after at most {policy.max_relatives_per_manager} relatives",
            limit="max_relatives_per_manager",
            maximum=policy.max_relatives_per_manager,
        )
    managers = _live_count(session, FamilyLink.relative_psn_no, relative_psn_no)
    if managers >= policy.max_managers_per_relative:
        raise ServiceError(
            "family_limit_reached",
            f"a relative has at most {policy.max_managers_per_relative} family managers",
            limit="max_managers_per_relative",
            maximum=policy.max_managers_per_relative,
        )


def _activate(link: FamilyLink, *, via: str, now: datetime) -> None:
    link.status = ACTIVE
    link.accepted_via = via
    link.accepted_at = now


def accept(
    session: Session, *, container: LinksContext, invitation_id: str, psn_no: str
) -> FamilyLink:
    """The relative accepts an invitation addressed to them (accepting twice changes nothing)."""
    link = session.get(FamilyLink, invitation_id, with_for_update=True)
    if link is None or link.relative_psn_no != psn_no:
        raise ServiceError("not_found", f"no invitation {invitation_id} for you")
    if link.status == ACTIVE:
        return link
    if link.status != INVITED:
        raise ServiceError("conflict", f"invitation {invitation_id} was withdrawn or ended")
    _activate(link, via=ACCEPTED_IN_APP, now=container.clock.now())
    session.flush()
    return link


def confirm_at_counter(
    session: Session,
    *,
    container: LinksContext,
    hospital_code: str,
    staff_id: str,
    invitation_id: str | None = None,
    manager_psn_no: str | None = None,
    relative_psn_no: str | None = None,
) -> FamilyLink:
    """A hospital's staff confirm the relative's acceptance in person, having checked the ID."""
    if invitation_id is not None:
        link = session.get(FamilyLink, invitation_id, with_for_update=True)
    elif manager_psn_no is not None and relative_psn_no is not None:
        link = session.scalars(
            select(FamilyLink)
            .where(
                FamilyLink.manager_psn_no == manager_psn_no,
                FamilyLink.relative_psn_no == relative_psn_no,
                FamilyLink.status.in_(LIVE),
            )
            .with_for_update()
        ).first()
    else:
        raise ServiceError(
            "validation_error", "give invitation_id, or manager_psn_no and relative_psn_no"
        )
    if link is None:
        raise ServiceError("not_found", "no such invitation")
    if link.status == ACTIVE:
        return link
    if link.status != INVITED:
        raise ServiceError("conflict", f"invitation {link.link_id} was withdrawn or ended")
    _activate(link, via=ACCEPTED_AT_COUNTER, now=container.clock.now())
    link.accepted_hospital_code = hospital_code
    link.accepted_staff_id = staff_id
    session.flush()
    return link


def shared_outstanding(session: Session, link: FamilyLink) -> list[str]:
    """What the link still shares: unpaid bills of the relative that drew on the manager's line,
    and open visits of the relative holding on it (as ``mdtrt_id``)."""
    drew = select(SharedHold.mdtrt_id).where(
        SharedHold.manager_psn_no == link.manager_psn_no,
        SharedHold.relative_psn_no == link.relative_psn_no,
    )
    bills = session.scalars(
        select(Bill.bill_id).where(Bill.mdtrt_id.in_(drew), Bill.status.in_(bill_states.UNPAID))
    ).all()
    open_visits = session.scalars(
        select(Visit.mdtrt_id).where(
            Visit.mdtrt_id.in_(drew),
            Visit.status == "open",
            Visit.mdtrt_id.in_(select(FeeLine.mdtrt_id).where(FeeLine.status == "held")),
        )
    ).all()
    return [*bills, *open_visits]


def end_link(
    session: Session, *, container: LinksContext, psn_no: str, other_psn_no: str
) -> FamilyLink:
    """Either side ends the link (or withdraws/declines an invitation); refused while the
    relative's bills or open visits still use the manager's line."""
    link = session.scalars(
        select(FamilyLink)
        .where(
            FamilyLink.status.in_(LIVE),
            or_(
                (FamilyLink.manager_psn_no == psn_no)
                & (FamilyLink.relative_psn_no == other_psn_no),
                (FamilyLink.manager_psn_no == other_psn_no)
                & (FamilyLink.relative_psn_no == psn_no),
            ),
        )
        .order_by(FamilyLink.invited_at)
        .with_for_update()
    ).first()
    if link is None:
        raise ServiceError("not_found", f"no family link with {other_psn_no}")
    outstanding = shared_outstanding(session, link)
    if outstanding:
        raise ServiceError(
            "outstanding_balance",
            "the link can end only when no bill or open visit of the relative uses the "
            "manager's credit",
            shared=outstanding,
        )
    link.status = ENDED
    link.ended_at = container.clock.now()
    link.ended_by_psn_no = psn_no
    session.flush()
    return link


# -- proxy signing -------------------------------------------------------------------------------


def proxy_sign(
    session: Session,
    *,
    container: LinksContext,
    manager_psn_no: str,
    psn_no: str,
    certno: str,
    psn_name: str,
    version: int,
    autopay: str,
    client_addr: str,
    user_agent: str,
) -> ProxySignUp:
    """A manager signs the agreement for a relative whose acceptance of the link is the basis."""
    link = require_managed(session, manager_psn_no=manager_psn_no, relative_psn_no=psn_no)
    signed = sign_up(
        session,
        container=container,
        psn_no=psn_no,
        certno=certno,
        psn_name=psn_name,
        version=version,
        autopay=autopay,
        channel=PROXY_CHANNEL,
        client_addr=client_addr,
        user_agent=user_agent,
        proxy_by_psn_no=manager_psn_no,
    )
    link.proxy_signed_at = container.clock.now()
    session.flush()
    return ProxySignUp(
        decision=signed.decision, summary=signed.summary, signature=signed.signature, link=link
    )
