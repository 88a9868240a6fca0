"""The reminder sweep's decisions (settlement.scheduler.reminders.decide) without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from settlement.scheduler.reminders.decide import (
    Reminder,
    decide_reminder,
    reminder_schedule,
)

WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class Bill:
    bill_id: str


def test_the_shipped_policy_reminds_2_hours_then_24_hours_then_at_close_latest_first():
    schedule = reminder_schedule(
        [timedelta(hours=24), timedelta(hours=2)], at_close=True, window=WINDOW
    )
    assert [(r.kind, r.before, r.superseded) for r in schedule] == [
        ("remind_2h", timedelta(hours=2), ("remind_24h", "remind_close")),
        ("remind_24h", timedelta(hours=24), ("remind_close",)),
        ("remind_close", WINDOW, ()),
    ]
    assert [(r.template, r.values) for r in schedule] == [
        ("remind_before", {"hours": 2}),
        ("remind_before", {"hours": 24}),
        ("remind_close", {}),
    ]


def test_without_a_reminder_at_close_only_the_hours_before_are_sent():
    (only,) = reminder_schedule([timedelta(hours=6)], at_close=False, window=WINDOW)
    assert (only.kind, only.superseded) == ("remind_6h", ())


def test_a_batch_reminds_only_the_bills_this_sweep_claimed_and_skips_what_it_supersedes():
    reminder = Reminder("remind_2h", timedelta(hours=2), ("remind_24h",), "remind_before")
    batch = [Bill("B1"), Bill("B2"), Bill("B3")]
    plan = decide_reminder(reminder, batch, {"B3", "B1"})
    assert [b.bill_id for b in plan.bills] == ["B1", "B3"]  # the batch's order
    assert plan.skipped == ("remind_24h",)
    assert decide_reminder(reminder, batch, set()).skipped == ()


@given(
    hours=st.lists(st.integers(1, 71), unique=True, max_size=5),
    at_close=st.booleans(),
)
def test_each_reminder_supersedes_exactly_the_earlier_ones(hours, at_close):
    schedule = reminder_schedule(
        [timedelta(hours=h) for h in hours], at_close=at_close, window=WINDOW
    )
    befores = [r.before for r in schedule]
    assert befores == sorted(befores)  # the latest reminder (closest to the deadline) first
    assert len(schedule) == len(hours) + at_close
    for position, reminder in enumerate(schedule):
        assert reminder.superseded == tuple(r.kind for r in schedule[position + 1 :])
    if at_close:
        assert schedule[-1].kind == "remind_close"


@given(
    claimed=st.sets(st.sampled_from(["B1", "B2", "B3", "B4"])),
    covered=st.sets(st.sampled_from(["B1", "B2", "B3", "B4", "B9"])),
)
def test_a_covered_bill_is_told_it_owes_nothing_and_every_claimed_bill_is_told_once(
    claimed, covered
):
    """The claimed bills the insurance accounts cover (their settlement retried) get the
    covered text, the others the reminder's own; none twice, none unclaimed."""
    reminder = Reminder("remind_close", WINDOW, (), "remind_close")
    batch = [Bill("B1"), Bill("B2"), Bill("B3"), Bill("B4")]
    plan = decide_reminder(reminder, batch, claimed, covered)
    told = [b.bill_id for b in plan.owing] + [b.bill_id for b in plan.covered]
    assert sorted(told) == sorted(claimed)
    assert {b.bill_id for b in plan.covered} == claimed & covered
