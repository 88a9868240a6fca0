"""Read-only lookups over family links that other packages call (imports only the tables)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.billing.family_tables import ACTIVE, FamilyLink
from settlement.foundation.db import among


def managers_by_relative(session: Session, psn_nos: Iterable[str]) -> dict[str, list[str]]:
    """Each relative's active managers, oldest accepted link first, in one query."""
    wanted = sorted(set(psn_nos))
    if not wanted:
        return {}
    query = (
        select(FamilyLink.relative_psn_no, FamilyLink.manager_psn_no)
        .where(among(session, FamilyLink.relative_psn_no, wanted), FamilyLink.status == ACTIVE)
        .order_by(FamilyLink.accepted_at, FamilyLink.link_id)
    )
    found: dict[str, list[str]] = {}
    for relative, manager in session.execute(query):
        found.setdefault(relative, []).append(manager)
    return found
