"""What the auto-close sweep reads: the open visits before the cutoff (one statement), then each
visit under its lock with its hospital."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital, get_hospital
from settlement.billing.tables import Visit
from settlement.foundation.db import skip_locked
from settlement.scheduler.auto_close.decide import OpenVisit


def open_visits(session: Session, *, opened_before: datetime) -> list[OpenVisit]:
    """The visits still open that were opened before ``opened_before``, oldest first."""
    rows = session.execute(
        select(Visit.mdtrt_id, Visit.hospital_code, Visit.opened_at)
        .where(Visit.status == "open", Visit.opened_at < opened_before)
        .order_by(Visit.opened_at)
    )
    return [OpenVisit(mdtrt_id, code, opened_at) for mdtrt_id, code, opened_at in rows]


def still_open(session: Session, visit: OpenVisit) -> Hospital | None:
    """The visit's hospital if the visit is still open and nobody else holds it (its row is
    then locked); ``None`` if not."""
    query = skip_locked(
        session,
        select(Visit.mdtrt_id).where(Visit.mdtrt_id == visit.mdtrt_id, Visit.status == "open"),
        Visit,
    )
    hospital = get_hospital(session, visit.hospital_code)
    if session.scalars(query).first() is None:
        return None
    return hospital
