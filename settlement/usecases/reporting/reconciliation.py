"""Reconciliation (对账, national 3201): hospitals' days from the records and from the ledger.

The records' figures are the operators' (``figures.hospital_days``, the same code path as the
daily report and the console). Each money figure is computed a second time from the ledger's
transfers, and the report says whether the two agree. The ledger side is set-based too: one
statement groups every hospital's days, so the console can list every day that disagrees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from settlement.billing.tables import Bill, Visit
from settlement.ledger.tables import LedgerTransfer
from settlement.usecases.reporting.days import DayRange, as_date, local_day
from settlement.usecases.reporting.figures import PAYERS, HospitalDay, hospital_days
from settlement.usecases.reporting.reports import hospital_day

#: Ledger transfer codes, by what they record.
CHARGE_CODE = "bill"
REFUND_CODE = "refund"
REPAY_CODES = {
    "hifp": "repay_hifp",
    "acct": "repay_acct",
    "mulaid": "repay_mulaid",
    "cash": "repay_cash",
}
REPAY_REVERSAL_CODE = "repay_reversal"
#: Kinds of transfer that move money for good (a pending hold is not yet money).
SETTLED_KINDS = ("single_phase", "post_pending")
#: The figures compared, by name: charges, then each payer's settlements and reversals.
COMPARED = (
    "charges_posted",
    "charges_refunded",
    *(f"{name}_posted" for name in PAYERS),
    *(f"{name}_returned" for name in PAYERS),
)


@dataclass(frozen=True)
class DayReport:
    """A hospital's day (``figures``), its ledger figures in fen, and where the two differ."""

    figures: HospitalDay
    timezone: str
    ledger: dict[str, int]
    mismatches: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.mismatches


def reconcile_day(session: Session, *, hospital_code: str, day: date, zone: str) -> DayReport:
    """The hospital's figures for ``day``, checked against the ledger."""
    figures = hospital_day(session, hospital_code=hospital_code, day=day, zone=ZoneInfo(zone))
    ledger = ledger_figures(session, codes=[hospital_code], days=DayRange(day, day, ZoneInfo(zone)))
    booked = ledger.get((hospital_code, day), dict.fromkeys(COMPARED, 0))
    return DayReport(
        figures=figures, timezone=zone, ledger=booked, mismatches=mismatches(figures, booked)
    )


def unbalanced_days(
    session: Session, *, hospitals: list[tuple[str, str]], days: DayRange
) -> list[DayReport]:
    """Every hospital's day in ``days`` whose records and ledger disagree, newest first."""
    codes = [code for code, _ in hospitals]
    figures = hospital_days(session, hospitals=hospitals, days=days)
    ledger = ledger_figures(session, codes=codes, days=days)
    found = []
    for code in codes:
        for row in figures.by_hospital[code]:
            booked = ledger.get((code, row.day), dict.fromkeys(COMPARED, 0))
            differences = mismatches(row, booked)
            if differences:
                found.append(DayReport(row, days.zone.key, booked, differences))
    return sorted(found, key=lambda report: (report.figures.day, report.figures.hospital_code))[
        ::-1
    ]


def records_of(figures: HospitalDay) -> dict[str, int]:
    """The compared figures as the records give them."""
    return {
        "charges_posted": figures.bills_closed.fen,
        "charges_refunded": figures.refunds.fen,
        **{f"{name}_posted": fen for name, fen in figures.settled.named().items()},
        **{f"{name}_returned": fen for name, fen in figures.returned.named().items()},
    }


def mismatches(figures: HospitalDay, ledger: dict[str, int]) -> list[str]:
    return [
        f"{name}: records {fen} fen, ledger {ledger[name]} fen"
        for name, fen in records_of(figures).items()
        if fen != ledger[name]
    ]


def ledger_figures(
    session: Session, *, codes: list[str], days: DayRange
) -> dict[tuple[str, date], dict[str, int]]:
    """Per hospital and day from the ledger: charges posted and refunded, repayments in and back
    out (a reversal counts under the code of the repayment it reverses)."""
    transfer = LedgerTransfer
    in_days = (transfer.created_at >= days.start) & (transfer.created_at < days.end)
    bucket = local_day(session, transfer.created_at, days.zone)

    charges = (
        select(
            Visit.hospital_code.label("hospital_code"),
            bucket.label("day"),
            transfer.code.label("code"),
            func.sum(transfer.amount).label("fen"),
        )
        .join(Visit, Visit.mdtrt_id == transfer.reference)
        .where(
            in_days,
            transfer.kind.in_(SETTLED_KINDS),
            transfer.code == CHARGE_CODE,
            Visit.hospital_code.in_(codes),
        )
        .group_by(Visit.hospital_code, bucket, transfer.code)
    )
    by_bill = (
        select(
            Bill.hospital_code.label("hospital_code"),
            bucket.label("day"),
            transfer.code.label("code"),
            func.sum(transfer.amount).label("fen"),
        )
        .join(Bill, Bill.bill_id == transfer.reference)
        .where(
            in_days,
            transfer.kind.in_(SETTLED_KINDS),
            transfer.code != CHARGE_CODE,
            transfer.code != REPAY_REVERSAL_CODE,
            Bill.hospital_code.in_(codes),
        )
        .group_by(Bill.hospital_code, bucket, transfer.code)
    )
    original = aliased(LedgerTransfer)
    reversals = (
        select(
            Bill.hospital_code.label("hospital_code"),
            bucket.label("day"),
            (literal("returned:") + original.code).label("code"),
            func.sum(transfer.amount).label("fen"),
        )
        .join(original, original.id == transfer.reverses_id)
        .join(Bill, Bill.bill_id == transfer.reference)
        .where(in_days, transfer.code == REPAY_REVERSAL_CODE, Bill.hospital_code.in_(codes))
        .group_by(Bill.hospital_code, bucket, original.code)
    )
    sums: dict[tuple[str, date], dict[str, int]] = defaultdict(dict)
    for hospital_code, day, code, fen in session.execute(union_all(charges, by_bill, reversals)):
        found = sums[(hospital_code, _day(day))]
        found[code] = found.get(code, 0) + int(fen)
    return {key: _named(found) for key, found in sums.items()}


def _day(value: object) -> date:
    day = as_date(value)
    assert day is not None
    return day


def _named(sums: dict[str, int]) -> dict[str, int]:
    def by_payer(prefix: str) -> dict[str, int]:
        mulaid = sums.get(prefix + REPAY_CODES["mulaid"], 0)
        return {
            "fund_pay_sumamt": sums.get(prefix + REPAY_CODES["hifp"], 0),
            "acct_pay": sums.get(prefix + REPAY_CODES["acct"], 0) + mulaid,
            "acct_mulaid_pay": mulaid,
            "psn_cash_pay": sums.get(prefix + REPAY_CODES["cash"], 0),
        }

    return {
        "charges_posted": sums.get(CHARGE_CODE, 0),
        "charges_refunded": sums.get(REFUND_CODE, 0),
        **{f"{name}_posted": fen for name, fen in by_payer("").items()},
        **{f"{name}_returned": fen for name, fen in by_payer("returned:").items()},
    }
