"""The pending-orders sweep's decisions, in pure code: what a provider's answer does to an order
whose callback never came (issue 18's decide step)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from insurance.money import from_fen
from settlement.scheduler.wallet_orders.decide import (
    Leave,
    Settle,
    decide_answer,
    worth_asking,
)


@dataclass(frozen=True)
class Answer:
    status: str
    amount: Decimal
    provider_txn_id: str = "T-1"


def test_only_an_order_still_pending_is_asked_about():
    assert worth_asking("pending")
    assert not worth_asking("succeeded")
    assert not worth_asking("failed")
    assert not worth_asking(None)


def test_an_order_the_provider_does_not_know_was_never_placed_and_fails():
    assert decide_answer(order_amount_fen=3000, answer=None) == Settle(False, "")


def test_a_provider_still_waiting_leaves_the_order_for_the_next_tick():
    still = decide_answer(order_amount_fen=3000, answer=Answer("pending", Decimal("30.00")))
    assert still == Leave("still_pending")


fens = st.integers(min_value=1, max_value=10**9)


@given(fens, fens, st.sampled_from(["succeeded", "failed"]))
def test_money_is_taken_only_for_exactly_the_amount_the_order_is_for(order_fen, paid_fen, status):
    """A success settles the order only when the provider took the order's amount to the fen;
    any other amount is left pending (and logged), never confirmed. A failure fails it whatever
    the amount: nothing was taken."""
    resolution = decide_answer(
        order_amount_fen=order_fen, answer=Answer(status, from_fen(paid_fen), "T-9")
    )
    if status == "failed":
        assert resolution == Settle(False, "T-9")
        assert resolution.outcome == "failed"
    elif paid_fen == order_fen:
        assert resolution == Settle(True, "T-9")
        assert resolution.outcome == "succeeded"
    else:
        assert resolution == Leave("amount_mismatch")
