"""The escalation sweep's decisions, in pure code: every intent becomes one report or one skip,
and whatever the platform answers, the bill counts as reported once (issue 18's decide step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from insurance.money import from_fen
from settlement.scheduler.escalation.decide import (
    ALREADY_REPORTED,
    REPORTED,
    Intent,
    decide_outcome,
    decide_reports,
)
from settlement.usecases.overdue.decide import DueBill

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
OVERDUE_AT = NOW - timedelta(days=7)


def bill(bill_id: str, psn_no: str, amount_fen: int = 12_300) -> DueBill:
    closed = OVERDUE_AT - timedelta(hours=72)
    return DueBill(bill_id, psn_no, "H1", "overdue", amount_fen, closed, OVERDUE_AT, OVERDUE_AT)


def test_a_report_says_what_the_patient_owes_with_their_id_number_at_the_intents_time():
    intended_at = NOW - timedelta(hours=5)  # made by a run that never learnt the outcome
    plan = decide_reports(
        [Intent(bill("B1", "P1"), intended_at), Intent(bill("B2", "P2"), NOW)],
        certnos={"P1": "371402198005010036"},
    )
    assert [(b.bill_id, r.bill_id, r.psn_no) for b, r in plan.reports] == [("B1", "B1", "P1")]
    ((_, sent),) = plan.reports
    assert sent.certno == "371402198005010036"
    assert sent.amount == from_fen(12_300)
    assert sent.reported_at == intended_at
    assert [b.bill_id for b in plan.unknown] == ["B2"]


def test_the_platform_holding_the_report_already_means_the_bill_is_reported_not_sent_again():
    assert decide_outcome(True) == REPORTED
    assert decide_outcome(False) == ALREADY_REPORTED


patients = st.sampled_from(["P1", "P2", "P3", "P4"])


@given(
    st.lists(st.tuples(patients, st.integers(min_value=1, max_value=10**9)), max_size=30),
    st.sets(patients),
)
def test_every_intent_is_reported_or_skipped_exactly_once_for_the_amount_owed(owed, known):
    intents = [
        Intent(bill(f"B{i}", psn_no, fen), NOW - timedelta(minutes=i))
        for i, (psn_no, fen) in enumerate(owed)
    ]
    certnos = {psn_no: f"37140219800501{psn_no[1:]:0>4}" for psn_no in known}
    plan = decide_reports(intents, certnos=certnos)

    reported = [b.bill_id for b, _ in plan.reports]
    skipped = [b.bill_id for b in plan.unknown]
    assert sorted(reported + skipped) == sorted(i.bill.bill_id for i in intents)
    assert len(set(reported)) == len(reported)  # one report per bill
    assert all(b.psn_no in known for b, _ in plan.reports)
    assert all(b.psn_no not in known for b in plan.unknown)
    for b, report in plan.reports:
        assert (report.bill_id, report.psn_no, report.certno) == (
            b.bill_id,
            b.psn_no,
            certnos[b.psn_no],
        )
        assert report.amount == from_fen(b.amount_fen)  # to the fen, never rounded again
    # In intent order, as the batch was taken.
    assert reported == [i.bill.bill_id for i in intents if i.bill.psn_no in known]
