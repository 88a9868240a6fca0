"""What a charge reads before it is decided (``settlement.usecases.charging.decide``).

A batch reads its visit under the visit's row lock, with its active total and the family facts,
in one statement; then the patient, their standing and the catalogue items the batch names. A
group of batches reads each of these once for all its batches. Only what is unusual is read on
top: lines already in the visit when a ``feedetl_sn`` may repeat, a relative's overdue bills when
one freezes the patient's line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Select,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital
from settlement.billing.catalogue import catalogue_for
from settlement.billing.family_standing import overdue_shared_bills, overdue_shared_exists
from settlement.billing.family_tables import ACTIVE as FAMILY_LINK_ACTIVE
from settlement.billing.family_tables import FamilyLink
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.foundation.clock import Clock
from settlement.foundation.db import execute_on_connection
from settlement.foundation.errors import ServiceError
from settlement.foundation.lists import in_listed, listed
from settlement.foundation.ports import InsurancePlatform
from settlement.usecases.charging.decide import BatchFacts, ChargedVisit, ChargeFacts, FeeBatch
from settlement.usecases.credit.decisions import CreditConfig, credit_standing, credit_standings

#: Lines that count in a visit's total.
ACTIVE_STATUSES = ("held", "billed")


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


def _visits_for_charges_statement(
    postgres: bool,
) -> Select[str, str, str, str, datetime, int, bool, bool, bool]:
    """Built once (its cache key too): the visits locked in id order (so that concurrent
    writers lock them alike), each with its active total, whether any of ``sns`` is in it, and
    the two family facts a charge needs (most patients have none, and then read nothing more).

    ``ids`` and ``sns`` are bound as lists (:func:`settlement.foundation.db.in_listed`: on
    PostgreSQL one JSON array each, so the statement's text is the same for any group; a group's
    sizes made hundreds of texts)."""
    active = (
        select(func.coalesce(func.sum(FeeLine.det_item_fee_sumamt_fen), 0))
        .where(FeeLine.mdtrt_id == Visit.mdtrt_id, FeeLine.status.in_(ACTIVE_STATUSES))
        .scalar_subquery()
    )
    in_sns = in_listed(FeeLine.feedetl_sn, "sns", postgres=postgres)
    in_ids = in_listed(Visit.mdtrt_id, "ids", postgres=postgres)
    repeated = exists().where(FeeLine.mdtrt_id == Visit.mdtrt_id, in_sns)
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
        .where(in_ids)
        .order_by(Visit.mdtrt_id)
        .with_for_update(of=Visit)
    )


_VISITS_FOR_CHARGES = {
    "postgresql": _visits_for_charges_statement(postgres=True),
    "sqlite": _visits_for_charges_statement(postgres=False),
}


def visits_for_charges(
    session: Session, mdtrt_ids: Sequence[str], sns: Sequence[str]
) -> dict[str, ChargeFacts]:
    """Lock the visits (of any hospital: the caller checks whose they are) and read their
    :class:`ChargeFacts`, by id. The visits' lines are not loaded: a long visit would cost a
    row object per line."""
    lists = {"ids": listed(session, mdtrt_ids), "sns": listed(session, sns)}
    statement = _VISITS_FOR_CHARGES[session.get_bind().dialect.name]
    rows = execute_on_connection(session, statement, lists)
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


def _chargeable(batch: FeeBatch, visit: ChargeFacts | None) -> bool:
    """Whether the batch's visit is one it may be charged to (else nothing more is read)."""
    return (
        visit is not None
        and visit.hospital_code == batch.hospital_code
        and visit.visit.status == "open"
    )


def read_batch_facts(
    session: Session,
    *,
    batch: FeeBatch,
    insurance: InsurancePlatform,
    config: CreditConfig,
    clock: Clock,
) -> BatchFacts:
    """Lock the batch's visit and read everything :func:`decide_fee_batch` needs about it."""
    sns = [fee.feedetl_sn for fee in batch.fees]
    visit = visits_for_charges(session, [batch.mdtrt_id], sns).get(batch.mdtrt_id)
    if visit is None or not _chargeable(batch, visit):
        return BatchFacts(visit=visit)
    existing: frozenset[str] = frozenset()
    if visit.any_repeated:
        existing = frozenset(
            session.scalars(
                select(FeeLine.feedetl_sn).where(
                    FeeLine.mdtrt_id == batch.mdtrt_id, FeeLine.feedetl_sn.in_(sns)
                )
            )
        )
    psn_no = visit.visit.psn_no
    person = insurance.lookup_person(psn_no)
    standing = (
        None if person is None else credit_standing(session, psn_no, config=config, clock=clock)
    )
    overdue = overdue_shared_bills(session, psn_no) if visit.frozen_by_family else []
    return BatchFacts(
        visit=visit,
        person=person,
        standing=standing,
        catalogue=catalogue_for(session, (fee.med_list_codg for fee in batch.fees)),
        existing=existing,
        overdue_shared_bills=tuple(overdue),
    )


def plain(facts: ChargeFacts) -> bool:
    """Whether a batch needs nothing a group does not read: no line of it may already be in the
    visit, no family line to share, no relative's overdue bill freezing the patient's line."""
    return not (facts.any_repeated or facts.has_sharing_links or facts.frozen_by_family)


def read_group_facts(
    session: Session,
    batches: Sequence[FeeBatch],
    *,
    insurance: InsurancePlatform,
    config: CreditConfig,
    clock: Clock,
) -> list[BatchFacts | None]:
    """Lock the batches' visits and read their facts, one statement per kind for all of them.

    ``None``: a batch that is not :func:`plain` (it is posted on its own, which reads more).
    """
    visits = visits_for_charges(
        session,
        [batch.mdtrt_id for batch in batches],
        sorted({fee.feedetl_sn for batch in batches for fee in batch.fees}),
    )
    ready = [
        visit if visit is not None and _chargeable(batch, visit) and plain(visit) else None
        for batch in batches
        for visit in [visits.get(batch.mdtrt_id)]
    ]
    if not any(ready):
        return [None] * len(batches)
    persons = insurance.lookup_persons({visit.visit.psn_no for visit in ready if visit})
    standings = credit_standings(session, persons.keys(), config=config, clock=clock)
    catalogue = catalogue_for(
        session,
        {fee.med_list_codg for b, v in zip(batches, ready, strict=True) if v for fee in b.fees},
    )
    facts: list[BatchFacts | None] = []
    for visit in ready:
        person = None if visit is None else persons.get(visit.visit.psn_no)
        standing = None if person is None else standings[person.psn_no]
        facts.append(
            None
            if visit is None
            else BatchFacts(visit=visit, person=person, standing=standing, catalogue=catalogue)
        )
    return facts
