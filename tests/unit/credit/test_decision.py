from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.decision import CreditInputError, CreditInputs, RepaymentHistory, decide
from credit.scorecard import UnknownValueError
from tests.unit.credit.support import eligible_inputs, inputs, seeded_scorecard

CARD = seeded_scorecard()
TODAY = date(2026, 3, 1)
LINES = {Decimal(line) for line in range(600, 1001, 50)}


@given(eligible_inputs)
def test_every_eligible_input_gives_a_line_in_steps_of_50_from_600_to_1000(
    credit_inputs: CreditInputs,
) -> None:
    decision = decide(credit_inputs, CARD, today=TODAY)
    assert decision.status == "active"
    assert decision.line in LINES


RATING_ORDER = ("D", "C", "B", "A")


def improvements(base: CreditInputs) -> st.SearchStrategy[CreditInputs]:
    """Inputs equal to ``base`` except for one attribute made better (or kept)."""
    history = base.history
    return st.one_of(
        st.sampled_from(RATING_ORDER[RATING_ORDER.index(base.rating) :]).map(
            lambda rating: replace(base, rating=rating)
        ),
        st.integers(base.contribution_months, 700).map(
            lambda months: replace(base, contribution_months=months)
        ),
        st.just(replace(base, psn_type="12")),
        st.integers(history.bills_on_time, 60).map(
            lambda n: replace(base, history=replace(history, bills_on_time=n))
        ),
        st.integers(0, history.bills_late).map(
            lambda n: replace(base, history=replace(history, bills_late=n))
        ),
        st.integers(0, history.max_days_late).map(
            lambda n: replace(base, history=replace(history, max_days_late=n))
        ),
    )


@given(st.data(), eligible_inputs)
def test_improving_any_one_attribute_never_lowers_the_line_or_the_score(
    data: st.DataObject, base: CreditInputs
) -> None:
    better = data.draw(improvements(base))
    before = decide(base, CARD, today=TODAY)
    after = decide(better, CARD, today=TODAY)
    assert after.line >= before.line
    assert after.score is not None and before.score is not None
    assert after.score >= before.score


@given(eligible_inputs)
def test_the_same_inputs_and_scorecard_version_always_give_the_same_decision(
    credit_inputs: CreditInputs,
) -> None:
    first = decide(credit_inputs, CARD, today=TODAY)
    rebuilt = CreditInputs(**{f: getattr(credit_inputs, f) for f in credit_inputs.__slots__})
    assert decide(rebuilt, seeded_scorecard(), today=TODAY) == first
    assert first.scorecard_version == CARD.version


@given(eligible_inputs)
def test_at_most_four_reasons_each_naming_an_attribute_that_really_lost_points(
    credit_inputs: CreditInputs,
) -> None:
    decision = decide(credit_inputs, CARD, today=TODAY)
    assert len(decision.reasons) <= 4
    lost = {}
    for attribute in CARD.attributes:
        earned = attribute.points_for(credit_inputs.value_of(attribute.name))
        lost[attribute.name] = attribute.best_points - earned
    for reason in decision.reasons:
        assert reason.attribute is not None
        assert reason.points_lost == lost[reason.attribute] > 0
        assert reason.code == CARD.attribute(reason.attribute).reason_code
    # ... and they are the costliest ones: nothing left out lost more than a reason shown.
    shown = {reason.attribute for reason in decision.reasons}
    if decision.reasons:
        smallest_shown = min(reason.points_lost for reason in decision.reasons)
        assert all(lost[name] <= smallest_shown for name in lost if name not in shown)
    else:
        assert all(value == 0 for value in lost.values())


def test_a_perfect_record_earns_1000_with_no_reasons() -> None:
    best = inputs(
        rating="A",
        contribution_months=240,
        psn_type="12",
        history=RepaymentHistory(bills_on_time=12),
    )
    decision = decide(best, CARD, today=TODAY)
    assert (decision.status, decision.line, decision.score) == ("active", Decimal(1000), 300)
    assert decision.reasons == ()


def test_a_new_employee_with_a_short_history_sees_it_among_the_reasons() -> None:
    decision = decide(inputs(rating="A", contribution_months=8), CARD, today=TODAY)
    # 100 + 0 + 25 + 0 + 30 + 30 = 185 → 600 + 85 × 2 = 770 → 750.
    assert (decision.score, decision.line) == (185, Decimal(750))
    assert [r.code for r in decision.reasons] == [
        "contribution_short",
        "few_bills_on_time",
        "in_service_member",
    ]
    assert decision.reasons[0].zh == "连续缴费月数较短"
    assert decision.reasons[0].en == "Short contribution history"
    assert decision.reasons[0].points_lost == 80


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"insutype": "390"}, "not_employee_insurance"),
        ({"insured_active": False}, "insurance_inactive"),
        ({"dishonest": True}, "dishonest_debtor"),
        ({"is_adult": False}, "minor_without_manager"),
    ],
)
def test_hard_rules_make_a_patient_not_eligible_before_any_scoring(
    changes: dict[str, object], code: str
) -> None:
    decision = decide(inputs(rating="A", **changes), CARD, today=TODAY)
    assert decision.status == "not_eligible"
    assert decision.line == 0 and decision.score is None
    assert [r.code for r in decision.reasons] == [code]


def test_a_minor_covered_by_a_family_manager_is_eligible() -> None:
    decision = decide(inputs(is_adult=False, has_family_manager=True), CARD, today=TODAY)
    assert decision.status == "active"


def test_an_unpaid_overdue_bill_freezes_the_line_it_keeps_on_record() -> None:
    decision = decide(inputs(history=RepaymentHistory(overdue_unpaid=1)), CARD, today=TODAY)
    assert decision.status == "frozen"
    assert decision.reasons[0].code == "overdue_unpaid"
    assert decision.line in LINES


def test_a_suspension_applies_until_its_date_and_then_lapses() -> None:
    until = date(2026, 6, 1)
    decision = decide(inputs(suspended_until=until), CARD, today=TODAY)
    assert decision.status == "suspended"
    assert decision.reasons[0].code == "suspended"
    assert decision.status_on(date(2026, 5, 31)) == "suspended"
    assert decision.status_on(until) == "active"
    assert decide(inputs(suspended_until=until), CARD, today=until).status == "active"


def test_the_decision_records_its_inputs_as_plain_values() -> None:
    decision = decide(inputs(suspended_until=date(2026, 1, 1)), CARD, today=TODAY)
    assert decision.inputs["rating"] == "B"
    assert decision.inputs["history"]["bills_on_time"] == 0
    assert decision.inputs["suspended_until"] == "2026-01-01"
    # The snapshot is written out by hand for speed: it must still name every field.
    assert set(decision.inputs) == {f.name for f in fields(CreditInputs)}
    assert set(decision.inputs["history"]) == {f.name for f in fields(RepaymentHistory)}


@pytest.mark.parametrize("rating", ["E", "a", "", "AAA"])
def test_an_unknown_rating_is_refused_with_a_clear_error(rating: str) -> None:
    with pytest.raises(CreditInputError) as error:
        inputs(rating=rating)
    assert error.value.code == "unknown_rating"
    assert "A, B, C, D" in str(error.value)


def test_a_rating_the_scorecard_has_no_bin_for_is_refused_when_scoring() -> None:
    attribute = CARD.attribute("credit_rating")
    with pytest.raises(UnknownValueError) as error:
        attribute.points_for("E")
    assert error.value.code == "unknown_credit_rating"


def test_negative_history_counts_are_refused() -> None:
    with pytest.raises(CreditInputError):
        RepaymentHistory(bills_late=-1)
