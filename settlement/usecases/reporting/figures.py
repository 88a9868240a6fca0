"""Each hospital's days, from the records, in a handful of set-based statements.

What happened, on the day it happened (the day is the local calendar day):

- *bills closed*: bills made that day (their ``closed`` event), at the amount they closed at;
- *settlements*: settlements posted that day, by payer, a re-settlement after a refund included;
  where the policy settles the pooled fund's share at the end of the visit (``visit_end``), the
  fund's payment counts on the day the visit closed (its ``fund_settled`` event) and its
  re-settlement and return on the day of a refund before repayment (``fund_resettled``,
  ``fund_returned``), never again with the patient's repayment;
- *refunds*: refund requests that day and the charges they took off; ``returned`` is what the
  settlements reversed that day had taken from each payer, ``paid_back`` what each payer got back
  (``returned`` less the re-settlement of the remaining lines); *net* is settlements − returned;
- *outstanding* and *overdue*: bills unpaid (and of those, past their deadline) at the end of the
  day, at what they still owed then, rebuilt from the bills' event history (``balances``);
- *bills due*: bills whose deadline fell that day, and how many of them went overdue.

Every statement groups by hospital and day over the whole run of days at once, so a quarter
costs what a day costs plus the rows in between; Python only adds up the grouped sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from insurance.modes import VISIT_END
from settlement.billing import bill_states
from settlement.billing.payment_tables import BillSettlement
from settlement.billing.tables import Bill, BillEvent, Visit
from settlement.usecases.reporting.balances import bill_day_figures
from settlement.usecases.reporting.days import DayRange, as_date, local_day

#: The payers of a settlement, as the contract's ``setlinfo`` names them; ``acct_pay`` includes
#: ``acct_mulaid_pay`` (a family manager's account paying by mutual aid).
PAYERS = ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
#: The overdue rate is a ratio, shown with four places; it is not money.
RATE_PLACES = Decimal("0.0001")
#: A bill went overdue if it was marked so, or sits in a state only an overdue bill reaches.
_WENT_OVERDUE_STATES = (bill_states.OVERDUE, bill_states.PAYING_LATE, bill_states.SETTLED_LATE)
#: A settlement that re-settles a bill's remaining lines after a refund (2208).
RESETTLE_CHANNEL = "resettle"


@dataclass(frozen=True)
class Figure:
    """A count and a sum in fen."""

    count: int = 0
    fen: int = 0

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.count + other.count, self.fen + other.fen)


@dataclass(frozen=True)
class Payers:
    """Amounts in fen by payer; ``acct`` includes ``mulaid``."""

    fund: int = 0
    acct: int = 0
    mulaid: int = 0
    cash: int = 0

    def __add__(self, other: Payers) -> Payers:
        return Payers(
            self.fund + other.fund,
            self.acct + other.acct,
            self.mulaid + other.mulaid,
            self.cash + other.cash,
        )

    def __sub__(self, other: Payers) -> Payers:
        return Payers(
            self.fund - other.fund,
            self.acct - other.acct,
            self.mulaid - other.mulaid,
            self.cash - other.cash,
        )

    def named(self) -> dict[str, int]:
        """The amounts under the contract's names (:data:`PAYERS`)."""
        return dict(zip(PAYERS, (self.fund, self.acct, self.mulaid, self.cash), strict=True))

    @property
    def total(self) -> int:
        """What every payer together paid (mutual aid is part of ``acct``)."""
        return self.fund + self.acct + self.cash


@dataclass(frozen=True)
class HospitalDay:
    """One hospital's day (see the module docstring); amounts in fen."""

    hospital_code: str
    hospital_name: str
    day: date
    visits_opened: int = 0
    patients_seen: int = 0
    bills_closed: Figure = Figure()
    settlements: Figure = Figure()
    settled: Payers = Payers()
    refunds: Figure = Figure()
    returned: Payers = Payers()
    resettled: Payers = Payers()
    outstanding: Figure = Figure()
    overdue: Figure = Figure()
    bills_due: int = 0
    went_overdue: int = 0

    @property
    def net(self) -> Payers:
        """Settlements less what the day's reversals handed back, by payer."""
        return self.settled - self.returned

    @property
    def paid_back(self) -> Payers:
        """What each payer got back that day: the reversals less the re-settlements."""
        return self.returned - self.resettled

    @property
    def overdue_rate(self) -> Decimal | None:
        """Of the bills due that day, the share that went overdue (``None``: none fell due)."""
        if self.bills_due == 0:
            return None
        return (Decimal(self.went_overdue) / Decimal(self.bills_due)).quantize(
            RATE_PLACES, rounding=ROUND_HALF_UP
        )

    def plus(self, other: HospitalDay) -> HospitalDay:
        """Both days added up (``patients_seen`` too: the caller knows when patients overlap)."""
        return replace(
            self,
            visits_opened=self.visits_opened + other.visits_opened,
            patients_seen=self.patients_seen + other.patients_seen,
            bills_closed=self.bills_closed + other.bills_closed,
            settlements=self.settlements + other.settlements,
            settled=self.settled + other.settled,
            refunds=self.refunds + other.refunds,
            returned=self.returned + other.returned,
            resettled=self.resettled + other.resettled,
            outstanding=self.outstanding + other.outstanding,
            overdue=self.overdue + other.overdue,
            bills_due=self.bills_due + other.bills_due,
            went_overdue=self.went_overdue + other.went_overdue,
        )


@dataclass
class HospitalDays:
    """Every asked-for hospital's every day, and the distinct patients of all of them per day."""

    days: DayRange
    by_hospital: dict[str, list[HospitalDay]]
    patients_seen: dict[date, int] = field(default_factory=dict)

    def totals(self) -> list[HospitalDay]:
        """Every hospital together, day by day; a patient seen at two hospitals counts once."""
        rows: list[HospitalDay] = []
        for index, day in enumerate(self.days.days()):
            total = HospitalDay(hospital_code="*", hospital_name="", day=day)
            for series in self.by_hospital.values():
                total = total.plus(series[index])
            rows.append(replace(total, patients_seen=self.patients_seen.get(day, 0)))
        return rows


def hospital_days(
    session: Session, *, hospitals: Sequence[tuple[str, str]], days: DayRange
) -> HospitalDays:
    """The figures of ``hospitals`` (code, name) for every day of ``days``."""
    codes = [code for code, _ in hospitals]
    parts: dict[tuple[str, date], dict[str, Any]] = defaultdict(dict)
    for key, values in _visits(session, codes, days):
        parts[key].update(values)
    for key, pairs in bill_day_figures(session, codes, days).items():
        parts[key].update({name: Figure(*pair) for name, pair in pairs.items()})
    for key, values in _settlements(session, codes, days):
        parts[key].update(values)
    for key, values in _fund_at_close(session, codes, days):
        for name, payers in values.items():
            parts[key][name] = parts[key].get(name, Payers()) + payers
    for key, values in _due(session, codes, days):
        parts[key].update(values)
    by_hospital = {
        code: [
            HospitalDay(
                hospital_code=code,
                hospital_name=name,
                day=day,
                **parts.get((code, day), {}),
            )
            for day in days.days()
        ]
        for code, name in hospitals
    }
    return HospitalDays(days, by_hospital, _patients_seen(session, codes, days))


# -- visits ------------------------------------------------------------------------------------


def _visits(
    session: Session, codes: list[str], days: DayRange
) -> Iterable[tuple[tuple[str, date], dict[str, Any]]]:
    bucket = local_day(session, Visit.opened_at, days.zone)
    query = (
        select(Visit.hospital_code, bucket, func.count(), func.count(func.distinct(Visit.psn_no)))
        .where(
            Visit.opened_at >= days.start,
            Visit.opened_at < days.end,
            Visit.hospital_code.in_(codes),
        )
        .group_by(Visit.hospital_code, bucket)
    )
    for code, day, visits, patients in session.execute(query):
        yield (code, _day(day)), {"visits_opened": visits, "patients_seen": patients}


def _patients_seen(session: Session, codes: list[str], days: DayRange) -> dict[date, int]:
    bucket = local_day(session, Visit.opened_at, days.zone)
    query = (
        select(bucket, func.count(func.distinct(Visit.psn_no)))
        .where(
            Visit.opened_at >= days.start,
            Visit.opened_at < days.end,
            Visit.hospital_code.in_(codes),
        )
        .group_by(bucket)
    )
    return {_day(day): int(patients) for day, patients in session.execute(query)}


# -- settlements posted and reversed ------------------------------------------------------------


def _settlements(
    session: Session, codes: list[str], days: DayRange
) -> Iterable[tuple[tuple[str, date], dict[str, Any]]]:
    """Settlements posted, re-settlements posted and settlements reversed, per day: one
    statement of three grouped parts."""

    def part(
        name: str, moment: Any, *where: Any, fund: Any = BillSettlement.hifp_pay_fen
    ) -> Select[Any]:
        bucket = local_day(session, moment, days.zone)
        return (
            select(
                literal(name).label("part"),
                Bill.hospital_code.label("hospital_code"),
                bucket.label("day"),
                func.count().label("n"),
                func.sum(BillSettlement.medfee_sumamt_fen).label("medfee"),
                func.sum(fund).label("fund"),
                func.sum(BillSettlement.acct_own_pay_fen).label("acct_own"),
                func.sum(BillSettlement.acct_mulaid_pay_fen).label("mulaid"),
                func.sum(BillSettlement.psn_cash_pay_fen).label("cash"),
            )
            .join(Bill, Bill.bill_id == BillSettlement.bill_id)
            .where(moment >= days.start, moment < days.end, Bill.hospital_code.in_(codes), *where)
            .group_by(Bill.hospital_code, bucket)
        )

    # A visit_end bill's repayment takes no fund: its fund legs were posted at close (counted
    # by _fund_at_close); a re-settlement after a refund writes fund legs of its own, and a
    # reversal gives back every leg, those of the close included.
    repaid_fund = case(
        (
            (Bill.settlement_mode == VISIT_END) & (BillSettlement.channel != RESETTLE_CHANNEL),
            0,
        ),
        else_=BillSettlement.hifp_pay_fen,
    )
    posted, reversed_ = BillSettlement.posted_at, BillSettlement.reversed_at
    query = union_all(
        part("settled", posted, fund=repaid_fund),
        part("resettled", posted, BillSettlement.channel == RESETTLE_CHANNEL),
        part("returned", reversed_),
    )
    for name, code, day, count, medfee, fund, acct_own, mulaid, cash in session.execute(query):
        payers = Payers(
            fund=int(fund), acct=int(acct_own) + int(mulaid), mulaid=int(mulaid), cash=int(cash)
        )
        values: dict[str, Any] = {name: payers}
        if name == "settled":
            values["settlements"] = Figure(int(count), int(medfee))
        yield (code, _day(day)), values


#: The fund's events of a visit_end bill, by the figures they add to.
_FUND_EVENTS = {
    "fund_settled": ("settled",),
    "fund_resettled": ("settled", "resettled"),
    "fund_returned": ("returned",),
}


def _fund_at_close(
    session: Session, codes: list[str], days: DayRange
) -> Iterable[tuple[tuple[str, date], dict[str, Payers]]]:
    """The pooled fund's share settled at close, re-settled and returned by refunds before
    repayment (``visit_end``), per day, from the bills' events."""
    bucket = local_day(session, BillEvent.created_at, days.zone)
    query = (
        select(Bill.hospital_code, bucket, BillEvent.kind, func.sum(BillEvent.amount_fen))
        .join(Bill, Bill.bill_id == BillEvent.bill_id)
        .where(
            BillEvent.kind.in_(list(_FUND_EVENTS)),
            BillEvent.created_at >= days.start,
            BillEvent.created_at < days.end,
            Bill.hospital_code.in_(codes),
        )
        .group_by(Bill.hospital_code, bucket, BillEvent.kind)
    )
    for code, day, kind, fen in session.execute(query):
        yield (code, _day(day)), dict.fromkeys(_FUND_EVENTS[kind], Payers(fund=int(fen)))


# -- deadlines ----------------------------------------------------------------------------------


def _due(
    session: Session, codes: list[str], days: DayRange
) -> Iterable[tuple[tuple[str, date], dict[str, Any]]]:
    """Bills with something to pay whose deadline fell on the day; of them, those gone overdue."""
    went_overdue = or_(Bill.overdue_at.is_not(None), Bill.status.in_(_WENT_OVERDUE_STATES))
    bucket = local_day(session, Bill.due_at, days.zone)
    query = (
        select(Bill.hospital_code, bucket, func.count(), func.count().filter(went_overdue))
        .where(
            Bill.due_at >= days.start,
            Bill.due_at < days.end,
            Bill.billed_fen > 0,
            Bill.hospital_code.in_(codes),
        )
        .group_by(Bill.hospital_code, bucket)
    )
    for code, day, due, overdue in session.execute(query):
        yield (code, _day(day)), {"bills_due": int(due), "went_overdue": int(overdue)}


def _day(value: object) -> date:
    day = as_date(value)
    assert day is not None
    return day
