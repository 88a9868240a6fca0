"""Sweep failures: what a sweep could not do to one item, kept for the operators.

A sweep that fails on one item (a visit, a bill, an order, a message) records it here, logs an
ERROR line and counts it in ``shuxin_scheduler_sweep_item_failures_total``, then goes on with
the others (``settlement.scheduler.failures``). The next run tries the item again and, if it
still fails, records it again: one row per attempt.

The message keeps no personal data: a service refusal's stable code, or the first line of the
error with every run of digits and every non-ASCII character masked (an ID number, a phone or a
name in an error's text never reaches the table or the log).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.errors import ServiceError
from settlement.foundation.metrics import SWEEP_ITEM_FAILURES
from settlement.foundation.orm import Base, FenColumn, UTCDateTime

logger = logging.getLogger("shuxin.scheduler")

MESSAGE_LENGTH = 200
_DIGITS = re.compile(r"\d{3,}")
_NON_ASCII = re.compile(r"[^\x20-\x7e]+")


class SweepFailure(Base):
    """One failed attempt of a sweep at one item (a visit, a bill, an order, a message)."""

    __tablename__ = "sweep_failures"
    __table_args__ = (Index("ix_sweep_failures_failed_at", "failed_at"),)

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    #: The sweep's name as the run reports it (``auto_close``, ``overdue``, …).
    sweep: Mapped[str] = mapped_column(String(40))
    #: The item's own id (``mdtrt_id``, ``bill_id``, an order or message id); never a person's.
    item_id: Mapped[str] = mapped_column(String(64))
    error_class: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(MESSAGE_LENGTH))
    #: The sweep's ``now`` (business time: the sandbox's test clock moves it).
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


def safe_message(error: BaseException) -> str:
    """What may be stored and logged about ``error``: its code, or its masked first line."""
    if isinstance(error, ServiceError):
        return error.code
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    masked = _NON_ASCII.sub("*", _DIGITS.sub("#", first))
    return masked[:MESSAGE_LENGTH]


def record_failure(
    session: Session, *, sweep: str, item_id: str, error: BaseException, now: datetime
) -> None:
    """Add the failure to ``session`` (the caller commits), log it and count it."""
    error_class = type(error).__name__[:100]
    message = safe_message(error)
    session.add(
        SweepFailure(
            sweep=sweep,
            item_id=item_id[:64],
            error_class=error_class,
            message=message,
            failed_at=now,
        )
    )
    logger.error("sweep %s: item %s failed: %s: %s", sweep, item_id, error_class, message)
    SWEEP_ITEM_FAILURES.labels(sweep, error_class).inc()


def recent_failures(
    session: Session, *, limit: int = 100, sweep: str | None = None
) -> list[SweepFailure]:
    """The newest recorded failures first, optionally of one sweep."""
    query = select(SweepFailure).order_by(SweepFailure.failed_at.desc(), SweepFailure.id.desc())
    if sweep is not None:
        query = query.where(SweepFailure.sweep == sweep)
    return list(session.scalars(query.limit(limit)))


def purge_sweep_failures(session: Session, *, before: datetime) -> int:
    """Forget failures recorded before ``before`` (the retention the outbox keeps)."""
    result = session.execute(delete(SweepFailure).where(SweepFailure.failed_at < before))
    return int(getattr(result, "rowcount", 0))
