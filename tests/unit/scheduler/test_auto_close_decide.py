"""Which visits the auto-close sweep closes (settlement.scheduler.auto_close.decide), no database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from settlement.scheduler.auto_close.decide import OpenVisit, decide_auto_close, end_of_visit_day

DEZHOU = SimpleNamespace(
    settings=SimpleNamespace(timezone="Asia/Shanghai"),
    scheme=SimpleNamespace(auto_close_at=time(23, 59)),
)
#: 2026-11-24 00:30 in Dezhou.
NOW = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
#: 2026-11-23 23:59 in Dezhou.
END_OF_DAY = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)


def visit(mdtrt_id: str, opened_at: datetime) -> OpenVisit:
    return OpenVisit(mdtrt_id, "H1", opened_at)


def test_visits_opened_before_the_last_close_time_close_at_the_end_of_their_own_day():
    visits = [
        visit("TODAY", END_OF_DAY + timedelta(minutes=10)),  # opened after 23:59: tomorrow's
        visit("YESTERDAY", END_OF_DAY - timedelta(hours=14)),
        visit("TWO_DAYS", END_OF_DAY - timedelta(days=1, hours=3)),
    ]
    closings = decide_auto_close(visits, day=DEZHOU, now=NOW)
    assert [(c.visit.mdtrt_id, c.closed_at) for c in closings] == [
        ("TWO_DAYS", END_OF_DAY - timedelta(days=1)),
        ("YESTERDAY", END_OF_DAY),
    ]


def test_nothing_closes_before_the_days_close_time():
    opened = END_OF_DAY - timedelta(hours=2)
    assert (
        decide_auto_close([visit("V", opened)], day=DEZHOU, now=END_OF_DAY - timedelta(seconds=1))
        == []
    )
    assert [
        c.closed_at for c in decide_auto_close([visit("V", opened)], day=DEZHOU, now=END_OF_DAY)
    ] == [END_OF_DAY]


@given(
    opened=st.lists(st.integers(0, 10 * 24 * 3600), max_size=8),
    now_after=st.integers(0, 12 * 24 * 3600),
)
def test_a_visit_closes_after_it_opened_never_after_now_and_oldest_first(opened, now_after):
    start = datetime(2026, 11, 20, tzinfo=UTC)
    now = start + timedelta(seconds=now_after)
    visits = [visit(f"V{i}", start + timedelta(seconds=s)) for i, s in enumerate(opened)]
    closings = decide_auto_close(visits, day=DEZHOU, now=now)
    for closing in closings:
        assert closing.visit.opened_at < closing.closed_at <= now
        assert closing.closed_at - closing.visit.opened_at <= timedelta(days=1)
    assert [c.visit.opened_at for c in closings] == sorted(c.visit.opened_at for c in closings)
    # A visit left out has not reached the end of its day.
    closed = {c.visit.mdtrt_id for c in closings}
    for v in visits:
        if v.mdtrt_id not in closed:
            assert end_of_visit_day(DEZHOU, v.opened_at) > now
