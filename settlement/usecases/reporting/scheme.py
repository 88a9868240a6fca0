"""The scheme's days: patients signed, credit lines granted (not a hospital's figures).

Both are balances at the end of each day, built like the bills' (see ``figures``): each record
says when it starts and stops counting, the changes are summed per day in SQL, and the days are
added up in order. A patient counts as signed from the first signature of an unbroken run
(re-signing a new version adds a signature, revoking ends them all at once) until its
revocation; a credit line counts while it is the patient's latest decision and active, a
suspended line again from the day its suspension runs out when nothing is overdue (as
``Decision.status_on`` says).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from settlement.billing.credit_tables import AgreementSignatureRow, CreditDecisionRow
from settlement.usecases.reporting.days import DayRange, as_date, local_day


@dataclass(frozen=True)
class SchemeDay:
    """Sign-ups during the day; patients signed, active lines and their sum at its end."""

    day: date
    signed_patients_day: int = 0
    signed_patients_total: int = 0
    active_lines: int = 0
    credit_granted_fen: int = 0


def scheme_days(session: Session, *, days: DayRange) -> list[SchemeDay]:
    """The scheme's figures for every day of ``days``."""
    signed_day = _signed_per_day(session, days)
    signed = _running(_signature_changes(session, days), days)
    lines = _running(_line_changes(session, days), days)
    return [
        SchemeDay(
            day=day,
            signed_patients_day=signed_day.get(day, 0),
            signed_patients_total=signed[day][0],
            active_lines=lines[day][0],
            credit_granted_fen=lines[day][1],
        )
        for day in days.days()
    ]


def _signed_per_day(session: Session, days: DayRange) -> dict[date, int]:
    at = AgreementSignatureRow.signed_at
    bucket = local_day(session, at, days.zone)
    query = (
        select(bucket, func.count(func.distinct(AgreementSignatureRow.psn_no)))
        .where(at >= days.start, at < days.end)
        .group_by(bucket)
    )
    return {_day(day): int(patients) for day, patients in session.execute(query)}


def _signature_changes(session: Session, days: DayRange) -> dict[date | None, tuple[int, int]]:
    """+1 on the day a run of signatures starts, −1 on the day it is revoked."""
    runs = (
        select(
            func.min(AgreementSignatureRow.signed_at).label("starts"),
            AgreementSignatureRow.revoked_at.label("ends"),
        )
        .where(AgreementSignatureRow.signed_at < days.end)
        .group_by(AgreementSignatureRow.psn_no, AgreementSignatureRow.revoked_at)
        .subquery()
    )
    started = select(_bucket(session, runs.c.starts, days).label("day"), literal(1).label("n"))
    stopped = select(
        _bucket(session, runs.c.ends, days).label("day"), literal(-1).label("n")
    ).where(runs.c.ends < days.end)
    changes = union_all(started, stopped).subquery()
    query = select(changes.c.day, func.sum(changes.c.n)).group_by(changes.c.day)
    return {as_date(day): (int(n), 0) for day, n in session.execute(query)}


def _line_changes(session: Session, days: DayRange) -> dict[date | None, tuple[int, int]]:
    """Each decision's line from the day it counts (decided, or its suspension's end) to the
    day the next decision replaces it: + then − on those days."""
    decision = CreditDecisionRow
    decided = local_day(session, decision.decided_at, days.zone)
    following = func.lead(decided).over(partition_by=decision.psn_no, order_by=decision.seq)
    wakes = (
        (decision.status == "suspended")
        & decision.suspended_until.is_not(None)
        & (decision.overdue_unpaid == 0)
    )
    latest_of = _later_day(session, decided, decision.suspended_until)
    periods = (
        select(
            case((decision.status == "active", decided), (wakes, latest_of)).label("starts"),
            following.label("ends"),
            decision.line_fen.label("fen"),
        )
        .where(decision.decided_at < days.end)
        .subquery()
    )
    counted = periods.c.starts.is_not(None) & (
        periods.c.ends.is_(None) | (periods.c.starts < periods.c.ends)
    )
    last = literal(days.last, Date)
    first = literal(days.first, Date)

    def day_of(column: Any) -> Any:
        return case((column >= first, column))

    starts = select(
        day_of(periods.c.starts).label("day"),
        literal(1).label("n"),
        periods.c.fen.label("fen"),
    ).where(counted, periods.c.starts <= last)
    ends = select(
        day_of(periods.c.ends).label("day"),
        literal(-1).label("n"),
        (-periods.c.fen).label("fen"),
    ).where(counted, periods.c.ends <= last)
    changes = union_all(starts, ends).subquery()
    query = select(changes.c.day, func.sum(changes.c.n), func.sum(changes.c.fen)).group_by(
        changes.c.day
    )
    return {as_date(day): (int(n), int(fen)) for day, n, fen in session.execute(query)}


def _later_day(session: Session, one: Any, other: Any) -> Any:
    # GREATEST on PostgreSQL; SQLite's two-argument max() is the same scalar function.
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(one, other)
    return func.max(one, other)


def _bucket(session: Session, column: Any, days: DayRange) -> Any:
    """The local day of ``column`` from the first day on; NULL (the opening balance) before."""
    return case((column >= days.start, local_day(session, column, days.zone)))


def _running(
    changes: dict[date | None, tuple[int, int]], days: DayRange
) -> dict[date, tuple[int, int]]:
    """The balances at the end of each day: the opening balance plus every change so far."""
    totals: dict[date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    count, fen = changes.get(None, (0, 0))
    for day in days.days():
        more_count, more_fen = changes.get(day, (0, 0))
        count, fen = count + more_count, fen + more_fen
        totals[day] = (count, fen)
    return totals


def _day(value: object) -> date:
    day = as_date(value)
    assert day is not None
    return day
