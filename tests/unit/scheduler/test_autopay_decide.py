"""The auto-pay sweep's decisions (settlement.scheduler.autopay.decide) without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from settlement.scheduler.autopay.decide import (
    Leave,
    Skip,
    Start,
    decide_attempt,
    decide_candidates,
)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LEAD = timedelta(hours=1)


@dataclass(frozen=True)
class Bill:
    bill_id: str
    psn_no: str
    due_at: datetime


def test_on_close_pays_at_once_and_before_deadline_only_within_the_lead():
    page = [
        Bill("B1", "P1", NOW + timedelta(hours=70)),
        Bill("B2", "P2", NOW + timedelta(minutes=61)),
        Bill("B3", "P2", NOW + timedelta(minutes=60)),
        Bill("B4", "P2", NOW - timedelta(hours=3)),  # a late scheduler still pays
        Bill("B5", "P3", NOW),
    ]
    choices = {"P1": "on_close", "P2": "before_deadline", "P3": "none"}
    wanted = decide_candidates(page, choices=choices, lead=LEAD, now=NOW)
    assert [bill.bill_id for bill in wanted] == ["B1", "B3", "B4"]


def test_a_patient_without_a_signature_in_force_is_never_paid():
    page = [Bill("B1", "P1", NOW)]
    assert decide_candidates(page, choices={}, lead=LEAD, now=NOW) == []


def test_only_a_billed_bill_is_paid_and_only_from_a_withholding_agreement():
    assert decide_attempt(None, "alipay") == Leave()  # another transaction holds it
    assert decide_attempt("paying", "alipay") == Leave()
    assert decide_attempt("settled", None) == Leave()
    assert decide_attempt("billed", None) == Skip()
    assert decide_attempt("billed", "wechat") == Start("wechat")
    assert (Leave().outcome, Skip().outcome, Start("x").outcome) == (
        "busy",
        "no_agreement",
        "started",
    )


@given(
    bills=st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3"]),
            st.integers(-5 * 3600, 80 * 3600),
        ),
        max_size=20,
    ),
    choices=st.dictionaries(
        st.sampled_from(["P1", "P2", "P3"]),
        st.sampled_from(["on_close", "before_deadline", "none"]),
    ),
)
def test_the_candidates_are_the_page_in_order_filtered_by_each_patients_choice(bills, choices):
    page = [
        Bill(f"B{index}", psn_no, NOW + timedelta(seconds=seconds))
        for index, (psn_no, seconds) in enumerate(bills)
    ]
    wanted = decide_candidates(page, choices=choices, lead=LEAD, now=NOW)
    assert wanted == [bill for bill in page if bill in wanted]  # page order kept
    for bill in page:
        choice = choices.get(bill.psn_no)
        due_now = choice == "on_close" or (
            choice == "before_deadline" and bill.due_at <= NOW + LEAD
        )
        assert (bill in wanted) == due_now
