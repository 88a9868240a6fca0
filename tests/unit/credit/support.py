"""Shared builders for credit unit tests: the seeded scorecard and policy, and input strategies."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from credit.decision import RATINGS, CreditInputs, RepaymentHistory
from credit.events import EventPolicy, load_event_policy
from credit.scorecard import Scorecard, load_scorecard

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


def seeded_scorecard() -> Scorecard:
    return load_scorecard(SEEDS / "credit" / "scorecard.toml")


def seeded_policy() -> EventPolicy:
    return load_event_policy(SEEDS / "credit" / "events.toml")


def inputs(**changes: object) -> CreditInputs:
    """An eligible employee, changed as the test asks."""
    values: dict[str, object] = {
        "insutype": "310",
        "insured_active": True,
        "dishonest": False,
        "rating": "B",
        "contribution_months": 48,
        "psn_type": "11",
        "history": RepaymentHistory(),
    }
    values.update(changes)
    return CreditInputs(**values)  # type: ignore[arg-type]


histories = st.builds(
    RepaymentHistory,
    bills_on_time=st.integers(0, 40),
    bills_late=st.integers(0, 10),
    max_days_late=st.integers(0, 60),
    overdue_unpaid=st.just(0),
    overdue_count_12m=st.integers(0, 3),
    on_time_streak=st.integers(0, 10),
)

eligible_inputs = st.builds(
    CreditInputs,
    insutype=st.just("310"),
    insured_active=st.just(True),
    dishonest=st.just(False),
    rating=st.sampled_from(RATINGS),
    contribution_months=st.integers(0, 600),
    psn_type=st.sampled_from(("11", "12")),
    is_adult=st.booleans(),
    has_family_manager=st.just(True),
    history=histories,
    suspended_until=st.none(),
)
