"""The set-based balances equal a replay of every bill's history, event by event.

``reporting.balances`` sums changes in SQL without ordering the events; the reference here walks
each bill's events in order and keeps its status and what it owes, as the reconciliation once
did in Python. Hypothesis draws histories through the bill state machine (payments that fail,
deadlines, escalations, refunds before and after payment, whole and partial) spread over days
before, in and after the report's days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.tables import Bill, BillEvent, Visit
from settlement.usecases.reporting.balances import bill_day_figures
from settlement.usecases.reporting.days import DayRange, day_start

ZONE = ZoneInfo("Asia/Shanghai")
DAYS = DayRange(date(2026, 11, 23), date(2026, 11, 25), ZONE)
#: Histories start up to a day before the first day and may run past the last.
EARLIEST = day_start(date(2026, 11, 22), ZONE)


@dataclass(frozen=True)
class Event:
    kind: str
    from_status: str | None
    to_status: str
    amount_fen: int
    at: datetime


def walk(billed_fen: int, choices: list[int], gaps: list[int], start: datetime) -> list[Event]:
    """A history through the state machine; ``choices`` pick each step, ``gaps`` the minutes
    between steps (0 allowed: several events at one instant)."""
    at = start
    if billed_fen == 0:
        return [Event("closed", None, bill_states.SETTLED, 0, at)]
    events = [Event("closed", None, bill_states.BILLED, billed_fen, at)]
    status, owed, charges = bill_states.BILLED, billed_fen, billed_fen
    for choice, gap in zip(choices, gaps, strict=False):
        at = at + timedelta(minutes=gap)
        moves = _moves(status, owed, charges)
        if not moves:
            break
        kind, target, amount = moves[choice % len(moves)]
        if kind == "refund":
            charges -= amount
            if status in bill_states.UNPAID:
                owed -= amount
            if charges == 0:
                target = bill_states.REFUNDED
        events.append(Event(kind, status, target, amount, at))
        status = target
    return events


def _moves(status: str, owed: int, charges: int) -> list[tuple[str, str, int]]:
    s = bill_states
    refunds = []
    if status in (s.BILLED, s.OVERDUE, s.SETTLED, s.SETTLED_LATE) and charges > 0:
        refunds = [("refund", status, max(1, charges // 3)), ("refund", s.REFUNDED, charges)]
    return {
        s.BILLED: [("payment_started", s.PAYING, 0), ("overdue", s.OVERDUE, owed), *refunds],
        s.PAYING: [
            ("settled", s.SETTLED, 0),
            ("payment_failed", s.BILLED, 0),
            ("overdue", s.OVERDUE, owed),
        ],
        s.OVERDUE: [
            ("payment_started", s.PAYING_LATE, 0),
            ("escalated", s.OVERDUE, owed),
            *refunds,
        ],
        s.PAYING_LATE: [("settled", s.SETTLED_LATE, 0), ("payment_failed", s.OVERDUE, 0)],
        s.SETTLED: refunds,
        s.SETTLED_LATE: refunds,
        s.REFUNDED: [],
    }[status]


def replay(histories: dict[str, list[Event]], moment: datetime) -> tuple[int, int, int, int]:
    """Unpaid and overdue bills (count, fen) at ``moment``, walking each history in order."""
    unpaid = late = unpaid_fen = late_fen = 0
    for events in histories.values():
        status, owed = None, 0
        for event in events:
            if event.at >= moment:
                break
            status = event.to_status
            if event.kind == "closed":
                owed = event.amount_fen
            elif event.kind == "refund":
                owed -= event.amount_fen
        if status in bill_states.UNPAID:
            unpaid, unpaid_fen = unpaid + 1, unpaid_fen + owed
            if status in bill_states.OVERDUE_UNPAID:
                late, late_fen = late + 1, late_fen + owed
    return unpaid, unpaid_fen, late, late_fen


def store(session: Session, histories: dict[str, list[Event]]) -> None:
    session.add(
        Hospital(
            code="HP", name="p", level=3, secret_salt="s", secret_version=1, created_at=EARLIEST
        )
    )
    session.flush()
    for bill_id, events in histories.items():
        first = events[0]
        session.add(
            Visit(mdtrt_id=f"MD{bill_id}", hospital_code="HP", ipt_otp_no=bill_id, psn_no="P1",
                  med_type="11", dept_code="A", dept_name="A", dr_name="A", begntime=first.at,
                  status="closed", opened_at=first.at)
        )  # fmt: skip
        session.flush()
        session.add(
            Bill(bill_id=bill_id, mdtrt_id=f"MD{bill_id}", hospital_code="HP", psn_no="P1",
                 status=events[-1].to_status, medfee_sumamt_fen=first.amount_fen,
                 billed_fen=first.amount_fen, closed_at=first.at,
                 due_at=first.at + timedelta(hours=72), estimate={})
        )  # fmt: skip
    session.flush()
    # Inserted in time order across bills, as the service writes them.
    ordered = sorted(
        ((event, bill_id) for bill_id, events in histories.items() for event in events),
        key=lambda pair: pair[0].at,
    )
    for event, bill_id in ordered:
        session.add(
            BillEvent(bill_id=bill_id, kind=event.kind, from_status=event.from_status,
                      to_status=event.to_status, amount_fen=event.amount_fen, detail={},
                      created_at=event.at)
        )  # fmt: skip
    session.flush()


bill_histories = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 2500, 9999, 123456]),
        st.lists(st.integers(0, 20), max_size=8),
        st.lists(st.sampled_from([0, 1, 60, 600, 1500, 3000]), min_size=8, max_size=8),
        st.integers(0, 4 * 24 * 60),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=bill_histories)
# A refund before the deadline, overdue the next day, escalated, a partial refund, then paid.
@example(drawn=[(9999, [2, 1, 1, 2, 0, 0], [1500, 1500, 600, 60, 1500, 0, 0, 0], 2000)])
# Paid, a payment that failed after the deadline, and refunds after settlement.
@example(drawn=[(2500, [0, 2, 0, 0, 0, 0, 0], [60, 3000, 60, 1500, 60, 60, 60, 60], 0)])
def test_the_balances_equal_a_replay_of_every_bills_history(engine: Engine, drawn) -> None:
    histories = {
        f"B{index}": walk(fen, choices, gaps, EARLIEST + timedelta(minutes=offset))
        for index, (fen, choices, gaps, offset) in enumerate(drawn)
    }
    with Session(engine) as session, session.begin():
        store(session, histories)
        figures = bill_day_figures(session, ["HP"], DAYS)
        for day in DAYS.days():
            end = day_start(day + timedelta(days=1), ZONE)
            found = figures.get(("HP", day))
            got = (0, 0, 0, 0) if found is None else (*found["outstanding"], *found["overdue"])
            assert got == replay(histories, end), (day, histories)
            closed = [e for h in histories.values() for e in h if e.kind == "closed"]
            refunds = [e for h in histories.values() for e in h if e.kind == "refund"]
            in_day = defaultdict(list)
            for event in closed + refunds:
                if day_start(day, ZONE) <= event.at < end:
                    in_day[event.kind].append(event.amount_fen)
            if found is not None:
                assert found["bills_closed"] == (len(in_day["closed"]), sum(in_day["closed"]))
                assert found["refunds"] == (len(in_day["refund"]), sum(in_day["refund"]))
            else:
                assert not in_day
        session.rollback()


def test_a_utc_instant_counts_on_its_local_day(engine: Engine) -> None:
    # 16:00 UTC on the 23rd is midnight on the 24th in Dezhou.
    at = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    histories = {"B1": [Event("closed", None, bill_states.BILLED, 500, at)]}
    with Session(engine) as session, session.begin():
        store(session, histories)
        figures = bill_day_figures(session, ["HP"], DAYS)
        assert figures[("HP", date(2026, 11, 23))]["bills_closed"] == (0, 0)
        assert figures[("HP", date(2026, 11, 24))]["bills_closed"] == (1, 500)
        assert figures[("HP", date(2026, 11, 23))]["outstanding"] == (0, 0)
        assert figures[("HP", date(2026, 11, 24))]["outstanding"] == (1, 500)
        session.rollback()
