"""The overdue sweep and a bill waiting for the insurance platform, in pure code: such a bill is
left alone past its deadline; set aside by the retry, it is due no sooner than ``min_notice``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.overdue.decide import DueBill, deadline_when_set_aside, due_now

NOW = datetime(2026, 11, 26, 15, 59, tzinfo=UTC)
CLOSED = NOW - timedelta(hours=72)
NOTICE = timedelta(hours=24)


def bill(bill_id: str, *, waiting: bool = False) -> DueBill:
    return DueBill(bill_id, "P1", "H1", "billed", 11_000, CLOSED, NOW, None, waiting)


def test_a_bill_waiting_for_insurance_is_left_alone_and_the_others_become_overdue():
    batch = [bill("B1"), bill("B2", waiting=True), bill("B3"), bill("B4", waiting=True)]

    due, waiting = due_now(batch)

    assert [b.bill_id for b in due] == ["B1", "B3"]
    assert [b.bill_id for b in waiting] == ["B2", "B4"]


def test_a_bill_read_without_the_fact_is_due_as_ever():
    plain = DueBill("B1", "P1", "H1", "billed", 11_000, CLOSED, NOW, None)
    assert due_now([plain]) == ((plain,), ())


@given(st.lists(st.booleans(), max_size=30))
def test_every_bill_is_either_due_or_waiting_in_the_batch_order(flags):
    batch = [bill(f"B{i}", waiting=flag) for i, flag in enumerate(flags)]
    due, waiting = due_now(batch)
    assert sorted(due + waiting, key=batch.index) == batch
    assert all(not b.awaiting_insurance for b in due)
    assert all(b.awaiting_insurance for b in waiting)


def test_set_aside_past_its_deadline_it_is_due_the_notice_from_then():
    later = NOW + timedelta(hours=5)
    assert deadline_when_set_aside(NOW, now=later, min_notice=NOTICE) == later + NOTICE


def test_set_aside_with_more_than_the_notice_left_it_keeps_its_deadline():
    early = NOW - timedelta(hours=48)
    assert deadline_when_set_aside(NOW, now=early, min_notice=NOTICE) == NOW
    exactly = NOW - NOTICE
    assert deadline_when_set_aside(NOW, now=exactly, min_notice=NOTICE) == NOW


@given(
    st.timedeltas(min_value=timedelta(hours=-200), max_value=timedelta(hours=200)),
    st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=72)),
)
def test_the_deadline_never_moves_earlier_nor_falls_within_the_notice(offset, notice):
    now = NOW + offset
    moved = deadline_when_set_aside(NOW, now=now, min_notice=notice)
    assert moved >= NOW
    assert moved >= now + notice
    assert moved in (NOW, now + notice)
