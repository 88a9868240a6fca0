from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.decision import Decision, RepaymentHistory, decide
from credit.events import (
    BillOverdue,
    BillRepaidOnTime,
    EventPolicyError,
    OverdueBillRepaid,
    add_months,
    apply_event,
    event_reasons,
    load_event_policy,
    scorecard_reasons,
)
from tests.unit.credit.support import inputs, seeded_policy, seeded_scorecard

POLICY = seeded_policy()  # 3 on-time bills per 100-yuan step; 2 overdue in 12 months → 6 months
TODAY = date(2026, 3, 1)


def start(line: int) -> Decision:
    decision = decide(inputs(), seeded_scorecard(), today=TODAY)
    return decision.with_changes(line=Decimal(line))


class Patient:
    """Plays a sequence of bills the way the lead's bill code will report them."""

    def __init__(self, line: int) -> None:
        self.decision = start(line)
        self.history = RepaymentHistory()
        self.overdue_dates: list[date] = []
        self.today = TODAY

    def _apply(self, event: BillRepaidOnTime | BillOverdue | OverdueBillRepaid) -> Decision:
        self.decision = apply_event(
            self.decision, event, policy=POLICY, history=self.history, today=self.today
        )
        return self.decision

    def repay_on_time(self) -> Decision:
        h = self.history
        self.history = replace(
            h, bills_on_time=h.bills_on_time + 1, on_time_streak=h.on_time_streak + 1
        )
        return self._apply(BillRepaidOnTime("b"))

    def go_overdue(self) -> Decision:
        self.overdue_dates.append(self.today)
        window_start = add_months(self.today, -POLICY.overdue_window_months)
        recent = sum(1 for day in self.overdue_dates if day > window_start)
        h = self.history
        self.history = replace(
            h, overdue_unpaid=h.overdue_unpaid + 1, overdue_count_12m=recent, on_time_streak=0
        )
        return self._apply(BillOverdue("b"))

    def repay_overdue(self, days_late: int) -> Decision:
        h = self.history
        self.history = replace(
            h,
            overdue_unpaid=h.overdue_unpaid - 1,
            bills_late=h.bills_late + 1,
            max_days_late=max(h.max_days_late, days_late),
        )
        return self._apply(OverdueBillRepaid("b"))

    def wait(self, days: int) -> None:
        self.today += timedelta(days=days)


def test_every_third_bill_repaid_on_time_raises_the_line_one_step() -> None:
    patient = Patient(700)
    seen = [patient.repay_on_time() for _ in range(6)]
    assert [d.line for d in seen] == [700, 700, 800, 800, 800, 900]
    assert [[r.code for r in event_reasons(d)] for d in seen[:3]] == [
        [],
        [],
        ["step_up_on_time"],
    ]
    assert all(d.status == "active" and d.event == "bill_repaid_on_time" for d in seen)


def test_after_any_event_the_scorecards_reasons_stay_first_and_the_moves_follow() -> None:
    patient = Patient(700)
    scored = patient.decision.reasons
    assert scored, "the scorecard explains the line"

    repaid = patient.repay_on_time()
    assert repaid.reasons == scored  # a 700 line is not "explained" by a bill repaid on time
    patient.repay_on_time()
    raised = patient.repay_on_time()
    frozen = patient.go_overdue()
    lowered = patient.repay_overdue(days_late=2)

    for decision in (raised, frozen, lowered):
        assert decision.reasons[: len(scored)] == scored
        assert scorecard_reasons(decision) == scored
    assert [r.code for r in lowered.reasons[len(scored) :]] == [
        "step_up_on_time",
        "frozen_overdue",
        "unfrozen_lower",
    ]


@given(st.lists(st.sampled_from(["on_time", "overdue", "repay"]), max_size=30))
def test_the_scorecards_reasons_survive_any_sequence_of_events(steps: list[str]) -> None:
    patient = Patient(800)
    scored = patient.decision.reasons
    for step in steps:
        if step == "on_time":
            patient.repay_on_time()
        elif step == "overdue":
            patient.go_overdue()
        elif patient.history.overdue_unpaid:
            patient.repay_overdue(days_late=2)
        assert scorecard_reasons(patient.decision) == scored
        assert len(event_reasons(patient.decision)) <= 4


def test_the_line_never_steps_above_1000() -> None:
    patient = Patient(950)
    lines = [patient.repay_on_time().line for _ in range(9)]
    assert lines == [950, 950, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
    assert [r.code for r in event_reasons(patient.decision)] == ["step_up_on_time"]


def test_an_overdue_bill_freezes_the_line_at_once_keeping_its_amount() -> None:
    patient = Patient(800)
    decision = patient.go_overdue()
    assert (decision.status, decision.line) == ("frozen", 800)
    assert [r.code for r in event_reasons(decision)] == ["frozen_overdue"]
    assert decision.event == "bill_overdue"


def test_repaying_the_overdue_bill_unfreezes_one_step_lower() -> None:
    patient = Patient(800)
    patient.go_overdue()
    patient.wait(3)
    decision = patient.repay_overdue(days_late=3)
    assert (decision.status, decision.line) == ("active", 700)
    assert [r.code for r in event_reasons(decision)] == ["frozen_overdue", "unfrozen_lower"]


def test_the_lower_line_never_goes_below_600() -> None:
    patient = Patient(600)
    patient.go_overdue()
    assert patient.repay_overdue(days_late=1).line == 600


def test_a_second_overdue_bill_in_twelve_months_suspends_for_six_months() -> None:
    patient = Patient(900)
    patient.go_overdue()
    patient.repay_overdue(days_late=2)
    patient.wait(100)
    decision = patient.go_overdue()
    assert decision.status == "suspended"
    assert decision.suspended_until == add_months(patient.today, 6)
    assert [r.code for r in event_reasons(decision)][-2:] == ["frozen_overdue", "suspended_repeat"]
    # Repaying does not end the suspension; the line still steps down.
    patient.wait(5)
    repaid = patient.repay_overdue(days_late=5)
    assert (repaid.status, repaid.line) == ("suspended", 700)
    assert repaid.status_on(decision.suspended_until - timedelta(days=1)) == "suspended"
    assert repaid.status_on(decision.suspended_until) == "active"


def test_overdue_bills_more_than_twelve_months_apart_only_freeze() -> None:
    patient = Patient(900)
    patient.go_overdue()
    patient.repay_overdue(days_late=1)
    patient.wait(400)
    decision = patient.go_overdue()
    assert decision.status == "frozen"
    assert decision.suspended_until is None


def test_a_suspension_that_ends_while_a_bill_is_still_overdue_leaves_the_line_frozen() -> None:
    patient = Patient(900)
    patient.go_overdue()
    suspended = patient.go_overdue()
    assert suspended.status == "suspended"
    assert suspended.suspended_until is not None
    assert suspended.status_on(suspended.suspended_until) == "frozen"


def test_on_time_repayments_while_frozen_neither_unfreeze_nor_raise_the_line() -> None:
    patient = Patient(800)
    patient.go_overdue()
    decisions = [patient.repay_on_time() for _ in range(3)]
    assert all((d.status, d.line) == ("frozen", 800) for d in decisions)


def test_an_on_time_streak_restarts_after_an_overdue_bill() -> None:
    patient = Patient(700)
    patient.repay_on_time()
    patient.repay_on_time()
    patient.go_overdue()
    patient.repay_overdue(days_late=1)  # 600
    lines = [patient.repay_on_time().line for _ in range(3)]
    assert lines == [600, 600, 700]


def test_a_patient_who_is_not_eligible_stays_so_whatever_happens() -> None:
    refused = decide(inputs(dishonest=True), seeded_scorecard(), today=TODAY)
    decision = apply_event(
        refused,
        OverdueBillRepaid("b"),
        policy=POLICY,
        history=RepaymentHistory(),
        today=TODAY,
    )
    assert (decision.status, decision.line) == ("not_eligible", 0)


@given(st.lists(st.sampled_from(["on_time", "overdue", "repay"]), max_size=30))
def test_any_sequence_of_events_keeps_the_line_within_600_and_1000(steps: list[str]) -> None:
    patient = Patient(800)
    for step in steps:
        if step == "on_time":
            patient.repay_on_time()
        elif step == "overdue":
            patient.go_overdue()
        elif patient.history.overdue_unpaid:
            patient.repay_overdue(days_late=2)
        patient.wait(7)
        assert 600 <= patient.decision.line <= 1000
        assert patient.decision.line % 50 == 0
        if patient.history.overdue_unpaid and patient.decision.status != "suspended":
            assert patient.decision.status == "frozen"


def test_add_months_keeps_the_day_or_takes_the_last_day_of_a_short_month() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 1), -12) == date(2025, 3, 1)


def test_an_events_policy_with_a_missing_number_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.toml"
    path.write_text('version = "x"\non_time_bills_per_step = 0\n', encoding="utf-8")
    with pytest.raises(EventPolicyError) as error:
        load_event_policy(path)
    assert error.value.field == "on_time_bills_per_step"
