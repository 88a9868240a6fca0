"""The family waterfall (settlement.usecases.family.waterfall) without a database."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.family.waterfall import (
    Charge,
    Part,
    Shortfall,
    Source,
    carried_by,
    decide_waterfall,
    repayment_shares,
)


def sources(own: int, *managers: int) -> list[Source]:
    return [Source("P1", 0, None, own)] + [
        Source(f"M{rank}", rank, f"L{rank}", fen) for rank, fen in enumerate(managers, start=1)
    ]


def split(parts: list[Part] | Shortfall) -> list[tuple[str, str, int]]:
    assert not isinstance(parts, Shortfall)
    return [(part.feedetl_sn, part.source.psn_no, part.amount_fen) for part in parts]


def test_a_batch_the_own_line_can_carry_stays_on_it():
    parts = decide_waterfall([Charge("1", 3000), Charge("2", 2000)], sources(6000, 10_000))
    assert split(parts) == [("1", "P1", 3000), ("2", "P1", 2000)]


def test_the_rest_goes_to_the_first_manager_then_the_next():
    charges = [Charge("1", 3000), Charge("2", 5000), Charge("3", 4000)]
    parts = decide_waterfall(charges, sources(4000, 6000, 9000))
    assert split(parts) == [
        ("1", "P1", 3000),
        ("2", "P1", 1000),
        ("2", "M1", 4000),
        ("3", "M1", 2000),
        ("3", "M2", 2000),
    ]
    assert not isinstance(parts, Shortfall)
    assert [part.shared for part in parts] == [False, False, True, True, True]


def test_a_line_lowered_below_its_holds_gives_nothing():
    parts = decide_waterfall([Charge("1", 500)], sources(-2000, 800))
    assert split(parts) == [("1", "M1", 500)]


def test_a_batch_the_lines_cannot_carry_together_is_refused_whole():
    refused = decide_waterfall([Charge("1", 3000), Charge("2", 3001)], sources(-100, 2000, 4000))
    assert refused == Shortfall(requested_fen=6001, available_fen=6000)


def test_an_empty_batch_holds_nothing():
    assert decide_waterfall([], sources(0)) == []


amounts = st.lists(st.integers(0, 200_000), min_size=0, max_size=10)
limits = st.lists(st.integers(-50_000, 300_000), min_size=1, max_size=4)


@given(amounts=amounts, limits=limits)
def test_the_waterfall_holds_each_charge_exactly_own_line_first_and_no_line_over_its_limit(
    amounts: list[int], limits: list[int]
):
    charges = [Charge(str(index), fen) for index, fen in enumerate(amounts)]
    lines = sources(*limits)
    room = [max(fen, 0) for fen in limits]
    decided = decide_waterfall(charges, lines)
    if sum(amounts) > sum(room):
        assert decided == Shortfall(sum(amounts), sum(room))
        return
    assert not isinstance(decided, Shortfall)
    # Each charge's parts sum exactly to it, and no part is empty.
    for charge in charges:
        assert sum(p.amount_fen for p in decided if p.feedetl_sn == charge.feedetl_sn) == (
            charge.amount_fen
        )
    assert all(part.amount_fen > 0 for part in decided)
    # No line gives more than it has left.
    used = [sum(p.amount_fen for p in decided if p.source == line) for line in lines]
    assert all(given_fen <= limit for given_fen, limit in zip(used, room, strict=True))
    # Own line first, then managers in order: a line is drawn on only once every line before it
    # is exhausted, so what is used is a prefix of full lines and one partly used line.
    drawn = [index for index, fen in enumerate(used) if fen > 0]
    if drawn:
        last = drawn[-1]
        assert all(used[index] == room[index] for index in range(last))
    # Parts come in charge order, and within a charge in line order.
    order = [(int(p.feedetl_sn), p.source.rank) for p in decided]
    assert order == sorted(order)


@dataclass(frozen=True)
class Held:
    manager_psn_no: str
    amount_fen: int


def test_a_repayment_credits_the_own_line_first_then_each_manager_what_it_carried():
    lines = [(5000, [Held("M1", 2000)]), (3000, []), (1000, [Held("M1", 600), Held("M2", 400)])]
    assert repayment_shares("P1", lines) == [("P1", 6000), ("M1", 2600), ("M2", 400)]
    assert carried_by("P1", 1000, [Held("M1", 1000)]) == [("M1", 1000)]  # nothing on its own


def test_a_bill_held_wholly_on_a_manager_gives_the_own_line_nothing():
    assert repayment_shares("P1", [(700, [Held("M1", 700)])]) == [("M1", 700)]
    assert repayment_shares("P1", []) == []


held_lines = st.lists(
    st.tuples(
        st.integers(0, 50_000),
        st.lists(
            st.tuples(st.sampled_from(["M1", "M2", "M3"]), st.integers(1, 30_000)), max_size=3
        ),
    ),
    max_size=8,
).map(
    lambda drawn: [
        (own + sum(f for _, f in parts), [Held(m, f) for m, f in parts]) for own, parts in drawn
    ]
)


@given(lines=held_lines)
def test_repayment_shares_sum_to_the_lines_and_give_each_line_exactly_what_it_carried(lines):
    shares = repayment_shares("P1", lines)
    assert sum(fen for _, fen in shares) == sum(amount for amount, _ in lines)
    assert all(fen > 0 for _, fen in shares)
    assert len({who for who, _ in shares}) == len(shares)
    own = sum(amount - sum(p.amount_fen for p in parts) for amount, parts in lines)
    assert dict(shares).get("P1", 0) == own
    if own:
        assert shares[0] == ("P1", own)  # the own line first
    for manager in ("M1", "M2", "M3"):
        carried = sum(
            p.amount_fen for _, parts in lines for p in parts if p.manager_psn_no == manager
        )
        assert dict(shares).get(manager, 0) == carried
