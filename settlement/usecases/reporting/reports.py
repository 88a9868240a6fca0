"""The operators' figures: the scheme's and each hospital's days, one day or a run of them.

One code path for everything that shows a figure: the daily report (``/admin/v1/reports/daily``),
the console's overview and trends, its CSV, and each hospital's reconciliation all read
:func:`overview` (or the ``figures`` it is made of). What each figure means is in ``figures``
and ``scheme``. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital
from settlement.foundation.errors import ServiceError
from settlement.usecases.reporting.days import MAX_DAYS, DayRange
from settlement.usecases.reporting.figures import HospitalDay, hospital_days
from settlement.usecases.reporting.scheme import SchemeDay, scheme_days


@dataclass(frozen=True)
class DayOverview:
    """One day: the scheme's figures, each hospital's, and the hospitals shown together.

    ``credit_in_use_fen`` is the credit the unpaid bills of every hospital use at the end of the
    day: visits close by themselves at the end of their day, so no open visit still holds credit
    then, and what the lines carry is the unpaid bills.
    """

    day: date
    scheme: SchemeDay
    hospitals: list[HospitalDay]
    totals: HospitalDay
    credit_in_use_fen: int


@dataclass(frozen=True)
class Overview:
    """A run of days, oldest first; ``hospital_code`` is set when one hospital was asked for."""

    days: DayRange
    hospital_code: str | None
    day_by_day: list[DayOverview]

    @property
    def last(self) -> DayOverview:
        return self.day_by_day[-1]


def overview(
    session: Session,
    *,
    last: date,
    days: int,
    zone: ZoneInfo,
    hospital_code: str | None = None,
) -> Overview:
    """The ``days`` days ending with ``last``; with ``hospital_code`` only that hospital
    (``not_found`` if there is none). The scheme's figures and the credit in use are the
    whole scheme's either way: sign-ups and credit lines belong to no hospital."""
    if not 1 <= days <= MAX_DAYS:
        raise ServiceError("validation_error", f"days must be 1 to {MAX_DAYS}")
    span = DayRange.ending(last, days=days, zone=zone)
    hospitals = _hospitals(session)
    if hospital_code is not None and hospital_code not in dict(hospitals):
        raise ServiceError("not_found", f"no hospital {hospital_code}")
    figures = hospital_days(session, hospitals=hospitals, days=span)
    everywhere = figures.totals()
    scheme = scheme_days(session, days=span)
    day_by_day = []
    for index, day in enumerate(span.days()):
        if hospital_code is None:
            rows, totals = [series[index] for series in figures.by_hospital.values()], None
        else:
            rows = [figures.by_hospital[hospital_code][index]]
            totals = replace(rows[0], hospital_code="*", hospital_name="")
        day_by_day.append(
            DayOverview(
                day=day,
                scheme=scheme[index],
                hospitals=rows,
                totals=totals or everywhere[index],
                credit_in_use_fen=everywhere[index].outstanding.fen,
            )
        )
    return Overview(span, hospital_code, day_by_day)


def daily_report(
    session: Session, *, day: date, zone: ZoneInfo, hospital_code: str | None = None
) -> DayOverview:
    """The report of one ``day`` (see :func:`overview`)."""
    return overview(session, last=day, days=1, zone=zone, hospital_code=hospital_code).last


def hospital_day(session: Session, *, hospital_code: str, day: date, zone: ZoneInfo) -> HospitalDay:
    """One hospital's day: what its reconciliation (3201) reports."""
    span = DayRange(day, day, zone)
    name = session.scalar(select(Hospital.name).where(Hospital.code == hospital_code))
    if name is None:
        raise ServiceError("not_found", f"no hospital {hospital_code}")
    figures = hospital_days(session, hospitals=[(hospital_code, name)], days=span)
    return figures.by_hospital[hospital_code][0]


def _hospitals(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(Hospital.code, Hospital.name).order_by(Hospital.code))
    return [(code, name) for code, name in rows]
