"""Bills closed and refunded per day, and what the unpaid and overdue bills owed at each day's end.

The balances are rebuilt from the bills' event history, so a past day never changes. Each event
records the status it found (``from_status``) and the one it left (``to_status``), and a bill
owes what it closed at (``billed_fen``) less its refunds so far. So a day's outstanding is the
sum of two kinds of change up to its end, each a grouped sum in SQL:

- every event moves a bill into or out of the unpaid (or overdue) states: + or − its
  ``billed_fen`` (one pass over the events, no ordering needed);
- a refund lowers what the bill owes from the refund (or, for overdue, from when the bill went
  overdue, if later) until the bill is paid: − the refund then, + it back when the bill leaves.
  Only bills with a refund are looked at for this. Where the pooled fund's share settled at
  close (``visit_end``), its events count alike: ``fund_settled`` (at close) and
  ``fund_resettled`` lower what the bill owes, ``fund_returned`` (by a refund before
  repayment) raises it, so the bill owes exactly the personal part.

Everything before the first day adds up into the opening balance; Python only adds the days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session

from settlement.billing import bill_states
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.orm import UTCDateTime
from settlement.usecases.reporting.days import DayRange, as_date, local_day

_UNPAID = tuple(sorted(bill_states.UNPAID))
#: Events that change what an unpaid bill owes: all lower it but ``fund_returned``, which raises it.
_OWED_CHANGES = ("refund", "fund_settled", "fund_resettled", "fund_returned")
_LATE = tuple(sorted(bill_states.OVERDUE_UNPAID))


@dataclass(frozen=True)
class _Change:
    """What one day changed (or, for the opening day ``None``, everything before)."""

    closed: tuple[int, int] = (0, 0)
    refunds: tuple[int, int] = (0, 0)
    unpaid: tuple[int, int] = (0, 0)
    late: tuple[int, int] = (0, 0)


def bill_day_figures(
    session: Session, codes: list[str], days: DayRange
) -> dict[tuple[str, date], dict[str, tuple[int, int]]]:
    """Per hospital and day: ``bills_closed``, ``refunds``, ``outstanding`` and ``overdue`` as
    (count, fen)."""
    changes: dict[str, dict[date | None, _Change]] = defaultdict(dict)
    for code, day, change in _status_changes(session, codes, days):
        changes[code][day] = change
    for code, day, unpaid_fen, late_fen in _refund_changes(session, codes, days):
        found = changes[code].get(day, _Change())
        changes[code][day] = _Change(
            closed=found.closed,
            refunds=found.refunds,
            unpaid=(found.unpaid[0], found.unpaid[1] + unpaid_fen),
            late=(found.late[0], found.late[1] + late_fen),
        )
    figures: dict[tuple[str, date], dict[str, tuple[int, int]]] = {}
    for code, by_day in changes.items():
        opening = by_day.get(None, _Change())
        unpaid, late = opening.unpaid, opening.late
        for day in days.days():
            change = by_day.get(day, _Change())
            unpaid = (unpaid[0] + change.unpaid[0], unpaid[1] + change.unpaid[1])
            late = (late[0] + change.late[0], late[1] + change.late[1])
            figures[(code, day)] = {
                "bills_closed": change.closed,
                "refunds": change.refunds,
                "outstanding": unpaid,
                "overdue": late,
            }
    return figures


def _status_changes(
    session: Session, codes: list[str], days: DayRange
) -> list[tuple[str, date | None, _Change]]:
    """Per hospital and day (``None``: before the first), every event's move in or out of the
    unpaid and overdue states at the bill's full amount, and the bills closed and refunds."""
    event = BillEvent

    def moved(states: tuple[str, ...], value: Any) -> Any:
        into = case((event.to_status.in_(states), value), else_=0)
        out_of = case((event.from_status.in_(states), value), else_=0)
        return func.coalesce(func.sum(into - out_of), 0)

    def of_kind(kind: str) -> tuple[Any, Any]:
        chosen = event.kind == kind
        return func.count().filter(chosen), func.coalesce(
            func.sum(event.amount_fen).filter(chosen), 0
        )

    bucket = _bucket(session, event.created_at, days)
    query = (
        select(
            Bill.hospital_code,
            bucket,
            moved(_UNPAID, 1),
            moved(_UNPAID, Bill.billed_fen),
            moved(_LATE, 1),
            moved(_LATE, Bill.billed_fen),
            *of_kind("closed"),
            *of_kind("refund"),
        )
        .join(Bill, Bill.bill_id == event.bill_id)
        .where(event.created_at < days.end, Bill.hospital_code.in_(codes))
        .group_by(Bill.hospital_code, bucket)
    )
    found = []
    for code, day, *sums in session.execute(query):
        unpaid_n, unpaid_fen, late_n, late_fen, closed_n, closed_fen, refund_n, refund_fen = (
            int(value) for value in sums
        )
        found.append(
            (
                code,
                as_date(day),
                _Change(
                    closed=(closed_n, closed_fen),
                    refunds=(refund_n, refund_fen),
                    unpaid=(unpaid_n, unpaid_fen),
                    late=(late_n, late_fen),
                ),
            )
        )
    return found


def _refund_changes(
    session: Session, codes: list[str], days: DayRange
) -> list[tuple[str, date | None, int, int]]:
    """Per hospital and day, how refunds lowered (−) and, once the bill left, stopped lowering
    (+) the unpaid and the overdue balance."""
    event = BillEvent
    lowering = event.kind.in_(_OWED_CHANGES)
    refunded = (
        select(event.bill_id)
        .where(lowering, event.created_at < days.end)
        .distinct()
        .scalar_subquery()
    )
    exits = (
        select(
            event.bill_id.label("bill_id"),
            func.min(event.created_at).filter(event.to_status.not_in(_UNPAID)).label("left_at"),
            func.min(event.created_at).filter(event.to_status.in_(_LATE)).label("late_at"),
        )
        .where(event.bill_id.in_(refunded), event.created_at < days.end)
        .group_by(event.bill_id)
        .subquery()
    )
    refunds = (
        select(
            Bill.hospital_code.label("hospital_code"),
            event.created_at.label("refunded_at"),
            case((event.kind == "fund_returned", -event.amount_fen), else_=event.amount_fen).label(
                "fen"
            ),
            exits.c.left_at,
            exits.c.late_at,
            _later(session, event.created_at, exits.c.late_at).label("late_from"),
        )
        .join(exits, exits.c.bill_id == event.bill_id)
        .join(Bill, Bill.bill_id == event.bill_id)
        .where(lowering, event.created_at < days.end, Bill.hospital_code.in_(codes))
        .cte("refunds")  # read by the four parts below: computed once
    )
    r = refunds.c

    def before_leaving(moment: Any) -> Any:
        return r.left_at.is_(None) | (moment < r.left_at)

    def change(moment: Any, unpaid: Any, late: Any, *where: Any) -> Any:
        return select(
            r.hospital_code.label("hospital_code"),
            _bucket(session, moment, days).label("day"),
            unpaid.label("unpaid"),
            late.label("late"),
        ).where(*where)

    zero = literal(0)
    lowers_late = r.late_at.is_not(None) & before_leaving(r.late_from)
    parts = union_all(
        change(r.refunded_at, -r.fen, zero, before_leaving(r.refunded_at)),
        change(r.left_at, r.fen, zero, r.left_at.is_not(None), r.refunded_at < r.left_at),
        change(r.late_from, zero, -r.fen, lowers_late),
        change(r.left_at, zero, r.fen, lowers_late, r.left_at.is_not(None)),
    ).subquery()
    query = select(
        parts.c.hospital_code, parts.c.day, func.sum(parts.c.unpaid), func.sum(parts.c.late)
    ).group_by(parts.c.hospital_code, parts.c.day)
    return [
        (code, as_date(day), int(unpaid), int(late))
        for code, day, unpaid, late in session.execute(query)
    ]


def _bucket(session: Session, column: Any, days: DayRange) -> Any:
    """The local day of ``column`` from the first day on; NULL (the opening balance) before."""
    return case((column >= days.start, local_day(session, column, days.zone)))


def _later(session: Session, one: Any, other: Any) -> Any:
    # GREATEST on PostgreSQL (NULLs ignored); SQLite's max() of two is NULL if one is: the
    # overdue start is only read where the bill did go overdue.
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(one, other, type_=UTCDateTime())
    return func.max(one, other, type_=UTCDateTime())
