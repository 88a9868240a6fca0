"""What a personal-account movement left pending becomes, in pure code (no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.movements.decide import Intent, adoptable, give_back, resolution
from settlement.usecases.paying.decide import movement_key

DEBIT = Intent("acct:ST1:pay:P1", "BL1", "pay", "ST1", "P1", "debit", 10_000)


def test_a_movement_the_platform_made_for_an_owner_that_never_committed_is_given_back():
    assert resolution(DEBIT, "moved") == "give_back"
    back = give_back(DEBIT)
    assert (back.key, back.purpose, back.reference) == ("acct:ST1:pay:P1:back", "return", DEBIT.key)
    assert (back.psn_no, back.direction, back.amount_fen) == ("P1", "credit", 10_000)


def test_a_movement_the_platform_never_made_is_failed_and_an_unaskable_one_waits():
    assert resolution(DEBIT, "none") == "failed"
    assert resolution(DEBIT, "unknown") == "wait"


def test_a_give_back_is_done_when_made_and_made_by_its_own_key_when_not():
    back = give_back(DEBIT)
    assert resolution(back, "moved") == "done"
    assert resolution(back, "none") == "call_again"
    assert resolution(back, "unknown") == "wait"


def test_only_the_patients_own_account_debit_of_a_payment_that_was_made_is_taken_over():
    assert adoptable(DEBIT, "moved", psn_no="P1")
    assert not adoptable(DEBIT, "none", psn_no="P1")
    assert not adoptable(DEBIT, "moved", psn_no="P2")  # a manager's mutual aid is given back
    refund = Intent("acct:ST1:refund:P1", "BL1", "refund", "ST1", "P1", "credit", 100)
    assert not adoptable(refund, "moved", psn_no="P1")


@given(
    purpose=st.sampled_from(["pay", "release", "refund"]),
    direction=st.sampled_from(["debit", "credit"]),
    amount=st.integers(1, 10**9),
    outcomes=st.lists(st.sampled_from(["moved", "none", "unknown"]), max_size=6),
)
def test_money_moves_back_at_most_once_whatever_the_platform_answers(
    purpose, direction, amount, outcomes
):
    """Resolving again and again (each answer drawn) gives back at most one movement, by one
    key, for the same amount the other way, and never gives back a give-back."""
    intent = Intent(
        movement_key("ST9", purpose, "P9"), "B", purpose, "ST9", "P9", direction, amount
    )
    backs = {
        give_back(intent).key for outcome in outcomes if resolution(intent, outcome) == "give_back"
    }
    assert len(backs) <= 1
    back = give_back(intent)
    assert back.amount_fen == amount and back.direction != direction
    assert resolution(back, "moved") != "give_back"


def test_the_key_names_the_settlement_the_purpose_and_the_account():
    assert movement_key("ST20261123ABC", "release", "P7") == "acct:ST20261123ABC:release:P7"
