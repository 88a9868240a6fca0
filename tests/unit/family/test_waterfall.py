"""The family waterfall (settlement.usecases.family.waterfall) without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.family.waterfall import (
    Charge,
    Part,
    Shortfall,
    Source,
    decide_waterfall,
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
