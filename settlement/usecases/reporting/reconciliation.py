"""Reconciliation (对账, national 3201): one hospital's day, from the records and from the ledger.

Every figure is computed twice, once from the business records (bills, settlements, bill events)
and once from the ledger's transfers, and the report says whether the two agree. The day is the
hospital's local day (``settings.timezone``); outstanding and overdue are as of the end of it,
rebuilt from the bills' event history, so a report for a past day does not change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from insurance.money import format_amount, from_fen
from settlement.billing import bill_states
from settlement.billing.payment_tables import BillSettlement
from settlement.billing.tables import Bill, BillEvent, Visit
from settlement.ledger.tables import LedgerTransfer

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
#: The payers' figures of a settlement, as the contract names them.
PAYERS = ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
#: Kinds of transfer that move money for good (a pending hold is not yet money).
SETTLED_KINDS = ("single_phase", "post_pending")


@dataclass(frozen=True)
class Figure:
    """A count and a sum in fen."""

    count: int = 0
    fen: int = 0

    def public(self, name: str = "amount") -> dict[str, object]:
        return {"count": self.count, name: format_amount(from_fen(self.fen))}


@dataclass(frozen=True)
class DayReport:
    hospital_code: str
    day: date
    timezone: str
    bills_closed: Figure
    settlements: Figure
    settled_amounts: dict[str, int]
    returned_amounts: dict[str, int]
    refunds: Figure
    outstanding: Figure
    overdue: Figure
    ledger: dict[str, int]
    mismatches: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.mismatches


def day_window(day: date, zone: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))
    return start, start + timedelta(days=1)


def reconcile_day(session: Session, *, hospital_code: str, day: date, zone: str) -> DayReport:
    """The hospital's figures for ``day``, checked against the ledger."""
    start, end = day_window(day, zone)

    # A bill counts on the day it was made (its ``closed`` event), the day its charges were
    # posted in the ledger: a visit that closed itself is stamped with the end of its own day
    # (``closed_at``) even when the sweep recording it ran a day later, and a past day's report
    # must not change when a late sweep runs.
    closed = session.execute(
        select(func.count(), func.coalesce(func.sum(Bill.billed_fen), 0))
        .join(BillEvent, BillEvent.bill_id == Bill.bill_id)
        .where(
            Bill.hospital_code == hospital_code,
            BillEvent.kind == "closed",
            BillEvent.created_at >= start,
            BillEvent.created_at < end,
        )
    ).one()
    bills_closed = Figure(int(closed[0]), int(closed[1]))

    posted = _settlement_sums(session, hospital_code, BillSettlement.posted_at, start, end)
    reversed_ = _settlement_sums(session, hospital_code, BillSettlement.reversed_at, start, end)
    settlements = Figure(posted.pop("count"), posted["medfee_sumamt"])
    reversed_.pop("count")

    refund_rows = session.execute(
        select(func.count(), func.coalesce(func.sum(BillEvent.amount_fen), 0))
        .join(Bill, Bill.bill_id == BillEvent.bill_id)
        .where(
            Bill.hospital_code == hospital_code,
            BillEvent.kind == "refund",
            BillEvent.created_at >= start,
            BillEvent.created_at < end,
        )
    ).one()
    refunds = Figure(int(refund_rows[0]), int(refund_rows[1]))

    outstanding, overdue = _unpaid_at(session, hospital_code=hospital_code, moment=end)
    ledger = _ledger_figures(session, hospital_code=hospital_code, start=start, end=end)
    records = {
        "charges_posted": bills_closed.fen,
        "charges_refunded": refunds.fen,
        **{f"{name}_posted": posted[name] for name in PAYERS},
        **{f"{name}_returned": reversed_[name] for name in PAYERS},
    }
    mismatches = [
        f"{name}: records {fen} fen, ledger {ledger[name]} fen"
        for name, fen in records.items()
        if fen != ledger[name]
    ]
    return DayReport(
        hospital_code=hospital_code,
        day=day,
        timezone=zone,
        bills_closed=bills_closed,
        settlements=settlements,
        settled_amounts=posted,
        returned_amounts=reversed_,
        refunds=refunds,
        outstanding=outstanding,
        overdue=overdue,
        ledger=ledger,
        mismatches=mismatches,
    )


def _unpaid_at(session: Session, *, hospital_code: str, moment: datetime) -> tuple[Figure, Figure]:
    """Bills unpaid, and of those overdue, as their event history stood at ``moment``."""
    events = session.execute(
        select(BillEvent.bill_id, BillEvent.to_status, BillEvent.kind, BillEvent.amount_fen)
        .join(Bill, Bill.bill_id == BillEvent.bill_id)
        .where(Bill.hospital_code == hospital_code, BillEvent.created_at < moment)
        .order_by(BillEvent.bill_id, BillEvent.created_at, BillEvent.id)
    ).all()
    status: dict[str, str] = {}
    owed: dict[str, int] = defaultdict(int)
    for bill_id, to_status, kind, amount_fen in events:
        status[bill_id] = to_status
        if kind == "closed":
            owed[bill_id] = amount_fen
        elif kind == "refund":
            owed[bill_id] -= amount_fen
    unpaid = [b for b, s in status.items() if s in bill_states.UNPAID]
    late = [b for b in unpaid if status[b] in (bill_states.OVERDUE, bill_states.PAYING_LATE)]
    return (
        Figure(len(unpaid), sum(owed[b] for b in unpaid)),
        Figure(len(late), sum(owed[b] for b in late)),
    )


def _settlement_sums(
    session: Session,
    hospital_code: str,
    moment: InstrumentedAttribute[datetime | None],
    start: datetime,
    end: datetime,
) -> dict[str, int]:
    """Count and payer sums of the hospital's settlements whose ``moment`` falls in the day."""
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(BillSettlement.medfee_sumamt_fen), 0),
            func.coalesce(func.sum(BillSettlement.hifp_pay_fen), 0),
            func.coalesce(func.sum(BillSettlement.acct_own_pay_fen), 0),
            func.coalesce(func.sum(BillSettlement.acct_mulaid_pay_fen), 0),
            func.coalesce(func.sum(BillSettlement.psn_cash_pay_fen), 0),
        )
        .join(Bill, Bill.bill_id == BillSettlement.bill_id)
        .where(Bill.hospital_code == hospital_code, moment >= start, moment < end)
    ).one()
    count, medfee, hifp, acct_own, mulaid, cash = (int(value) for value in row)
    return {
        "count": count,
        "medfee_sumamt": medfee,
        "fund_pay_sumamt": hifp,
        "acct_pay": acct_own + mulaid,
        "acct_mulaid_pay": mulaid,
        "psn_cash_pay": cash,
    }


def _ledger_figures(
    session: Session, *, hospital_code: str, start: datetime, end: datetime
) -> dict[str, int]:
    """The same day from the ledger: charges posted and refunded, repayments in and back out."""
    visit_ids = select(Visit.mdtrt_id).where(Visit.hospital_code == hospital_code)
    bill_ids = select(Bill.bill_id).where(Bill.hospital_code == hospital_code)
    in_day = (LedgerTransfer.created_at >= start) & (LedgerTransfer.created_at < end)
    rows = session.execute(
        select(LedgerTransfer.code, func.coalesce(func.sum(LedgerTransfer.amount), 0))
        .where(
            in_day,
            LedgerTransfer.kind.in_(SETTLED_KINDS),
            (LedgerTransfer.reference.in_(visit_ids) & (LedgerTransfer.code == CHARGE_CODE))
            | (LedgerTransfer.reference.in_(bill_ids) & (LedgerTransfer.code != CHARGE_CODE)),
        )
        .group_by(LedgerTransfer.code)
    ).all()
    posted = {code: int(total) for code, total in rows}
    original = aliased(LedgerTransfer)
    returned_rows = session.execute(
        select(original.code, func.coalesce(func.sum(LedgerTransfer.amount), 0))
        .join(original, original.id == LedgerTransfer.reverses_id)
        .where(
            in_day,
            LedgerTransfer.code == REPAY_REVERSAL_CODE,
            LedgerTransfer.reference.in_(bill_ids),
        )
        .group_by(original.code)
    ).all()
    returned = {code: int(total) for code, total in returned_rows}

    def by_payer(sums: dict[str, int]) -> dict[str, int]:
        mulaid = sums.get(REPAY_CODES["mulaid"], 0)
        return {
            "fund_pay_sumamt": sums.get(REPAY_CODES["hifp"], 0),
            "acct_pay": sums.get(REPAY_CODES["acct"], 0) + mulaid,
            "acct_mulaid_pay": mulaid,
            "psn_cash_pay": sums.get(REPAY_CODES["cash"], 0),
        }

    return {
        "charges_posted": posted.get(CHARGE_CODE, 0),
        "charges_refunded": posted.get(REFUND_CODE, 0),
        **{f"{name}_posted": fen for name, fen in by_payer(posted).items()},
        **{f"{name}_returned": fen for name, fen in by_payer(returned).items()},
    }
