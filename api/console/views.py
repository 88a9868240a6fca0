"""What the console's overview shows, from the one computation the API uses.

The overview is ``reporting.reports.overview`` for the chosen days and hospital, turned day by
day into the daily report's answer (``api.figures.daily_report_public``): the page, its charts,
its tables and the CSV all read those answers, so a figure on the console is the number
``GET /admin/v1/reports/daily`` gives for the same day and hospital.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.figures import daily_report_public
from api.schemas.admin import DailyReportPublic
from settlement.usecases.reporting.reports import overview

#: The trend lengths the console offers.
TREND_DAYS = (30, 90)


@dataclass(frozen=True)
class OverviewPage:
    """The chosen day's report and the trend's reports, oldest first (the last is the day's)."""

    day: date
    days: int
    hospital_code: str | None
    reports: list[DailyReportPublic]

    @property
    def report(self) -> DailyReportPublic:
        return self.reports[-1]


def overview_page(
    session: Session, *, day: date, days: int, zone: ZoneInfo, hospital_code: str | None
) -> OverviewPage:
    found = overview(session, last=day, days=days, zone=zone, hospital_code=hospital_code)
    reports = [daily_report_public(one, timezone=zone.key) for one in found.day_by_day]
    return OverviewPage(day, days, hospital_code, reports)


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _flat(f"{prefix}.{name}" if prefix else name, inner)
    else:
        yield prefix, value


def csv_rows(page: OverviewPage) -> Iterator[dict[str, Any]]:
    """One row per day and hospital (``*`` for the hospitals together), the API's figures with
    dotted names (``net.psn_cash_pay``)."""
    for report in page.reports:
        scheme = dict(_flat("scheme", report.scheme.model_dump()))
        for row in [report.totals, *report.hospitals]:
            yield {"date": report.date, **dict(_flat("", row.model_dump())), **scheme}


#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (a hospital named ``=…``) is quoted;
    numbers, negative amounts included, are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        try:
            Decimal(value)
        except InvalidOperation:
            return "'" + value
    return value


def trend_csv(page: OverviewPage) -> str:
    """The trend as CSV, UTF-8 with a byte-order mark so spreadsheets read the Chinese names."""
    rows = [{name: _cell(value) for name, value in row.items()} for row in csv_rows(page)]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
