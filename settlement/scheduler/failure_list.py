"""The sweeps' recorded failures (``sweep_failures``), paged, for the operators' console list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from settlement.foundation.sweep_failures import SweepFailure
from settlement.usecases.reporting.worklists import Page, PageRequest, paged, search_pattern


@dataclass(frozen=True)
class SweepFailureRow:
    sweep: str
    item_id: str
    error_class: str
    message: str
    at: datetime


def sweep_failures(session: Session, request: PageRequest) -> Page[SweepFailureRow]:
    """Failed attempts, newest first; ``q`` matches the sweep, the item's id or the error."""
    query = select(
        SweepFailure.sweep,
        SweepFailure.item_id,
        SweepFailure.error_class,
        SweepFailure.message,
        SweepFailure.failed_at,
    )
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(
                SweepFailure.sweep.like(pattern, escape="\\"),
                SweepFailure.item_id.like(pattern, escape="\\"),
                SweepFailure.error_class.like(pattern, escape="\\"),
            )
        )
    rows, total = paged(
        session, query.order_by(SweepFailure.failed_at.desc(), SweepFailure.id.desc()), request
    )
    return Page([SweepFailureRow(*row) for row in rows], total, request.page, request.size)
