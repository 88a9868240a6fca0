"""The administrators' daily report: the scheme's sign-ups and credit, each hospital's day.

A day is a calendar day in the scheme's time zone. Amounts by payer come from the bills' estimates
at close (the 2206 split) until settlement records the final split. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from insurance.money import ZERO, from_fen, parse_amount
from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.credit_tables import AgreementSignatureRow, CreditDecisionRow
from settlement.billing.tables import Bill, Visit
from settlement.foundation.errors import ServiceError

#: The payers of a bill, as the ``setlinfo`` fields name them.
PAYER_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")
#: A bill went overdue if it was marked so, or sits in a state only an overdue bill reaches.
_OVERDUE_STATES = (bill_states.OVERDUE, bill_states.PAYING_LATE, bill_states.SETTLED_LATE)
#: The overdue rate is a ratio, shown with four places; it is not money.
RATE_PLACES = Decimal("0.0001")


@dataclass
class HospitalDay:
    """One hospital's day: visits opened, bills closed, their amounts by payer, overdue bills.

    ``bills_due`` counts the bills whose 72-hour deadline fell on the day and ``overdue`` those of
    them that went overdue; ``overdue_rate`` is their ratio (``None`` when nothing fell due).
    """

    hospital_code: str
    hospital_name: str
    visits_opened: int = 0
    patients_seen: int = 0
    bills_closed: int = 0
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(PAYER_FIELDS, ZERO))
    bills_due: int = 0
    overdue: int = 0

    @property
    def overdue_rate(self) -> Decimal | None:
        if self.bills_due == 0:
            return None
        return (Decimal(self.overdue) / Decimal(self.bills_due)).quantize(
            RATE_PLACES, rounding=ROUND_HALF_UP
        )


@dataclass(frozen=True)
class DailyReport:
    """The scheme's day (sign-ups, credit granted at the end of it) and each hospital's day."""

    day: date
    timezone: str
    signed_patients_day: int
    signed_patients_total: int
    active_lines: int
    credit_granted: Decimal
    hospitals: list[HospitalDay]
    totals: HospitalDay


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and ends in ``zone`` (end exclusive)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def daily_report(
    session: Session, *, day: date, zone: ZoneInfo, hospital_code: str | None = None
) -> DailyReport:
    """The report of ``day``; with ``hospital_code`` only that hospital (``not_found`` if none)."""
    start, end = day_bounds(day, zone)
    hospitals = _hospitals(session, hospital_code)
    by_code = {h.hospital_code: h for h in hospitals}
    codes = list(by_code)
    patients_seen = _count_visits(session, by_code, codes, start, end)
    _sum_bills(session, by_code, codes, start, end)
    _count_due(session, by_code, codes, start, end)
    signed_day, signed_total = _signatures(session, start, end)
    active_lines, granted = _credit_granted(session, end, day)
    return DailyReport(
        day=day,
        timezone=zone.key,
        signed_patients_day=signed_day,
        signed_patients_total=signed_total,
        active_lines=active_lines,
        credit_granted=granted,
        hospitals=hospitals,
        totals=_totals(hospitals, patients_seen),
    )


def _hospitals(session: Session, hospital_code: str | None) -> list[HospitalDay]:
    query = select(Hospital.code, Hospital.name).order_by(Hospital.code)
    if hospital_code is not None:
        query = query.where(Hospital.code == hospital_code)
    rows = session.execute(query).all()
    if hospital_code is not None and not rows:
        raise ServiceError("not_found", f"no hospital {hospital_code}")
    return [HospitalDay(hospital_code=code, hospital_name=name) for code, name in rows]


def _count_visits(
    session: Session,
    by_code: dict[str, HospitalDay],
    codes: list[str],
    start: datetime,
    end: datetime,
) -> int:
    """Visits and distinct patients per hospital; returns the distinct patients of them all."""
    opened = (Visit.opened_at >= start, Visit.opened_at < end, Visit.hospital_code.in_(codes))
    query = (
        select(
            Visit.hospital_code,
            func.count(),
            func.count(func.distinct(Visit.psn_no)),
        )
        .where(*opened)
        .group_by(Visit.hospital_code)
    )
    for code, visits, patients in session.execute(query):
        by_code[code].visits_opened = visits
        by_code[code].patients_seen = patients
    return session.scalar(select(func.count(func.distinct(Visit.psn_no))).where(*opened)) or 0


def _sum_bills(
    session: Session,
    by_code: dict[str, HospitalDay],
    codes: list[str],
    start: datetime,
    end: datetime,
) -> None:
    query = select(Bill.hospital_code, Bill.estimate).where(
        Bill.closed_at >= start, Bill.closed_at < end, Bill.hospital_code.in_(codes)
    )
    for code, estimate in session.execute(query):
        row = by_code[code]
        row.bills_closed += 1
        for name in PAYER_FIELDS:
            row.amounts[name] += parse_amount(estimate.get(name, "0"), name=name)


def _count_due(
    session: Session,
    by_code: dict[str, HospitalDay],
    codes: list[str],
    start: datetime,
    end: datetime,
) -> None:
    went_overdue = or_(Bill.overdue_at.is_not(None), Bill.status.in_(_OVERDUE_STATES))
    query = (
        select(
            Bill.hospital_code,
            func.count(),
            func.count().filter(went_overdue),
        )
        .where(
            Bill.due_at >= start,
            Bill.due_at < end,
            Bill.billed_fen > 0,
            Bill.hospital_code.in_(codes),
        )
        .group_by(Bill.hospital_code)
    )
    for code, due, overdue in session.execute(query):
        by_code[code].bills_due = due
        by_code[code].overdue = overdue


def _signatures(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """Patients who signed during the day, and patients with a signature in force at its end."""
    patients = func.count(func.distinct(AgreementSignatureRow.psn_no))
    that_day = session.scalar(
        select(patients).where(
            AgreementSignatureRow.signed_at >= start, AgreementSignatureRow.signed_at < end
        )
    )
    in_force = session.scalar(
        select(patients).where(
            AgreementSignatureRow.signed_at < end,
            or_(
                AgreementSignatureRow.revoked_at.is_(None), AgreementSignatureRow.revoked_at >= end
            ),
        )
    )
    return that_day or 0, in_force or 0


def _credit_granted(session: Session, end: datetime, day: date) -> tuple[int, Decimal]:
    """Lines whose latest decision at the end of the day is active, and their sum."""
    latest = (
        select(CreditDecisionRow.psn_no, func.max(CreditDecisionRow.seq).label("seq"))
        .where(CreditDecisionRow.decided_at < end)
        .group_by(CreditDecisionRow.psn_no)
        .subquery()
    )
    query = select(
        CreditDecisionRow.status,
        CreditDecisionRow.line_fen,
        CreditDecisionRow.suspended_until,
        CreditDecisionRow.overdue_unpaid,
    ).join(
        latest,
        (CreditDecisionRow.psn_no == latest.c.psn_no) & (CreditDecisionRow.seq == latest.c.seq),
    )
    lines = [
        line_fen
        for status, line_fen, until, overdue_unpaid in session.execute(query)
        if _active_on(status, until, overdue_unpaid, day)
    ]
    return len(lines), from_fen(sum(lines))


def _active_on(status: str, until: date | None, overdue_unpaid: int, day: date) -> bool:
    # A suspension that has run out no longer applies (as ``Decision.status_on`` says).
    if status == "suspended" and until is not None and day >= until:
        return overdue_unpaid == 0
    return status == "active"


def _totals(hospitals: Iterable[HospitalDay], patients_seen: int) -> HospitalDay:
    """Every hospital together; a patient seen at two hospitals counts once."""
    total = HospitalDay(hospital_code="*", hospital_name="", patients_seen=patients_seen)
    for row in hospitals:
        total.visits_opened += row.visits_opened
        total.bills_closed += row.bills_closed
        total.bills_due += row.bills_due
        total.overdue += row.overdue
        for name, amount in row.amounts.items():
            total.amounts[name] += amount
    return total
