"""The overdue sweep's decisions, in pure code: no database (issue 18's decide step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.decision import decide
from credit.events import BillOverdue, apply_event
from settlement.billing.repayment import history_of
from settlement.foundation.errors import ServiceError
from settlement.usecases.overdue.decide import (
    DueBill,
    LatestDecision,
    decide_escalation,
    decide_overdue,
)
from tests.unit.credit.support import inputs, seeded_policy, seeded_scorecard

POLICY = seeded_policy()
NOW = datetime(2026, 11, 26, 15, 59, tzinfo=UTC)
CLOSED = NOW - timedelta(hours=72)
START = decide(inputs(), seeded_scorecard(), today=NOW.date()).with_changes(line=Decimal(800))


def bill(bill_id: str, psn_no: str, status: str = "billed") -> DueBill:
    return DueBill(bill_id, psn_no, "H1", status, 12_300, CLOSED, NOW, None)


def record(status: str = "billed") -> tuple[str, datetime, None, None]:
    return (status, NOW, None, None)


def test_each_bill_is_marked_and_each_patient_frozen_once_per_bill_after_their_latest():
    bills = [bill("B1", "P1"), bill("B2", "P2"), bill("B3", "P1")]
    latest = {"P1": LatestDecision(START, 4), "P2": LatestDecision(START, 1)}
    records = {
        "P1": {"B1": record(), "B3": record(), "OLD": ("settled", CLOSED, CLOSED, None)},
        "P2": {"B2": record()},
    }

    plan = decide_overdue(bills, latest=latest, records=records, policy=POLICY, now=NOW)

    assert [event["bill_id"] for event in plan.events] == ["B1", "B2", "B3"]
    assert {event["to_status"] for event in plan.events} == {"overdue"}
    assert [(d.psn_no, d.seq) for d in plan.decisions] == [("P1", 5), ("P1", 6), ("P2", 2)]
    assert plan.decisions[2].decision.status == "frozen"
    assert plan.decisions[1].decision.status == "suspended"  # two overdue in 12 months: policy
    # The history each decision reads has the whole batch's bills of that patient overdue.
    assert plan.decisions[0].decision.inputs["history"]["overdue_unpaid"] == 2
    assert plan.decisions[2].decision.inputs["history"]["overdue_unpaid"] == 1
    assert plan.undecided == ()


def test_a_patient_without_a_decision_is_named_not_guessed():
    plan = decide_overdue([bill("B1", "P9")], latest={}, records={}, policy=POLICY, now=NOW)
    assert plan.decisions == ()
    assert plan.undecided == ("P9",)
    assert [event["bill_id"] for event in plan.events] == ["B1"]  # the bill is overdue all the same


def test_a_bill_that_is_not_billed_is_refused():
    with pytest.raises(ServiceError):
        decide_overdue([bill("B1", "P1", "settled")], latest={}, records={}, policy=POLICY, now=NOW)


def test_escalation_reports_the_bills_whose_patient_insurance_knows():
    known, unknown = decide_escalation(
        [bill("B1", "P1"), bill("B2", "P2")], certnos={"P1": "371402198005010036"}
    )
    assert [(item.bill.bill_id, item.certno) for item in known] == [("B1", "371402198005010036")]
    assert [b.bill_id for b in unknown] == ["B2"]


@given(
    owners=st.lists(st.sampled_from(["P1", "P2", "P3"]), min_size=1, max_size=12),
    seqs=st.fixed_dictionaries({p: st.integers(1, 50) for p in ("P1", "P2", "P3")}),
    undecided=st.sets(st.sampled_from(["P1", "P2", "P3"]), max_size=1),
)
def test_the_plan_is_the_fold_of_the_credit_events_per_patient(owners, seqs, undecided):
    bills = [bill(f"B{i:02d}", owner) for i, owner in enumerate(owners)]
    latest = {p: LatestDecision(START, seq) for p, seq in seqs.items() if p not in undecided}
    records = {p: {b.bill_id: record() for b in bills if b.psn_no == p} for p in set(owners)}

    plan = decide_overdue(bills, latest=latest, records=records, policy=POLICY, now=NOW)

    assert len(plan.events) == len(bills)
    assert set(plan.undecided) == undecided & set(owners)
    for psn_no in sorted(set(owners) - undecided):
        theirs = [b for b in bills if b.psn_no == psn_no]
        made = [d for d in plan.decisions if d.psn_no == psn_no]
        assert [d.seq for d in made] == list(
            range(seqs[psn_no] + 1, seqs[psn_no] + 1 + len(theirs))
        )
        overdue = [("overdue", NOW, None, NOW) for _ in theirs]
        history = history_of(overdue, NOW)
        expected = START
        for one in theirs:
            expected = apply_event(
                expected, BillOverdue(one.bill_id), policy=POLICY, history=history, today=NOW.date()
            )
        assert made[-1].decision == expected
