"""The operators' figures as the API answers them: one presenter for the reconciliation (3201),
the daily report and the console, so the same hospital and day read the same everywhere."""

from __future__ import annotations

from typing import Any

from api.schemas.admin import DailyReportPublic, HospitalDayPublic, SchemeDayPublic
from api.schemas.figures import CountAmount, PayerAmounts, RefundedDay, SettledDay
from api.schemas.his import ReconciliationPublic
from insurance.money import format_amount, from_fen
from settlement.usecases.reporting.figures import Figure, HospitalDay, Payers
from settlement.usecases.reporting.reconciliation import DayReport
from settlement.usecases.reporting.reports import DayOverview


def amount(fen: int) -> str:
    """Fen as the contract's two-place yuan string."""
    return format_amount(from_fen(fen))


def count_amount(figure: Figure) -> CountAmount:
    return CountAmount(count=figure.count, amount=amount(figure.fen))


def payer_amounts(payers: Payers) -> PayerAmounts:
    return PayerAmounts(**{name: amount(fen) for name, fen in payers.named().items()})


def figure_fields(row: HospitalDay) -> dict[str, Any]:
    """The money blocks of a hospital's day (``api.schemas.figures.HospitalFigures``)."""
    return {
        "bills_closed": count_amount(row.bills_closed),
        "settlements": SettledDay(
            count=row.settlements.count,
            medfee_sumamt=amount(row.settlements.fen),
            **payer_amounts(row.settled).model_dump(),
        ),
        "refunds": RefundedDay(
            count=row.refunds.count,
            medfee_sumamt=amount(row.refunds.fen),
            returned=payer_amounts(row.returned),
            paid_back=payer_amounts(row.paid_back),
        ),
        "net": payer_amounts(row.net),
        "outstanding": count_amount(row.outstanding),
        "overdue": count_amount(row.overdue),
    }


def reconciliation_public(report: DayReport) -> ReconciliationPublic:
    row = report.figures
    return ReconciliationPublic(
        hospital_code=row.hospital_code,
        date=row.day.isoformat(),
        timezone=report.timezone,
        **figure_fields(row),
        ledger={name: amount(fen) for name, fen in report.ledger.items()},
        balanced=report.balanced,
        mismatches=report.mismatches,
    )


def hospital_day_public(row: HospitalDay) -> HospitalDayPublic:
    rate = row.overdue_rate
    return HospitalDayPublic(
        hospital_code=row.hospital_code,
        hospital_name=row.hospital_name,
        visits_opened=row.visits_opened,
        patients_seen=row.patients_seen,
        **figure_fields(row),
        bills_due=row.bills_due,
        went_overdue=row.went_overdue,
        overdue_rate=None if rate is None else f"{rate:f}",
    )


def daily_report_public(report: DayOverview, *, timezone: str) -> DailyReportPublic:
    scheme = report.scheme
    return DailyReportPublic(
        date=report.day.isoformat(),
        timezone=timezone,
        scheme=SchemeDayPublic(
            signed_patients_day=scheme.signed_patients_day,
            signed_patients_total=scheme.signed_patients_total,
            active_lines=scheme.active_lines,
            credit_granted=amount(scheme.credit_granted_fen),
            credit_in_use=amount(report.credit_in_use_fen),
        ),
        hospitals=[hospital_day_public(row) for row in report.hospitals],
        totals=hospital_day_public(report.totals),
    )
