"""Re-balancing a visit's holds (settlement.usecases.family.rebalance) without a database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.family.rebalance import (
    HeldLine,
    SharedPart,
    generation_of,
    plan_rebalance,
    rebalanced_own_hold_id,
)


def shared(*parts: tuple[int, int]) -> tuple[SharedPart, ...]:
    return tuple(SharedPart(rank, f"M{rank}", f"L{rank}", fen) for rank, fen in parts)


def test_the_issues_lines_move_back_whole_when_the_big_line_is_cancelled():
    lines = [HeldLine(sn, 3333, shared((1, 3333))) for sn in ("2", "3", "4")]
    moved = plan_rebalance(lines, own_room_fen=90_000)
    assert [(line.feedetl_sn, line.own_fen, line.shared) for line in moved] == [
        ("2", 3333, ()),
        ("3", 3333, ()),
        ("4", 3333, ()),
    ]


def test_the_last_manager_is_relieved_first_and_only_as_far_as_the_room_goes():
    lines = [HeldLine("1", 10_000, shared((1, 4000), (2, 3000))), HeldLine("2", 500, ())]
    (moved,) = plan_rebalance(lines, own_room_fen=3500)
    assert moved.own_fen == 3000 + 3500
    assert moved.shared == shared((1, 3500))


def test_no_room_moves_nothing():
    lines = [HeldLine("1", 100, shared((1, 100)))]
    assert plan_rebalance(lines, own_room_fen=0) == []
    assert plan_rebalance(lines, own_room_fen=-50) == []


def test_a_line_is_held_again_under_a_new_id_each_time():
    assert rebalanced_own_hold_id("MD1", "7", 1) == "hold:MD1:7"
    assert generation_of("MD1", "7", "hold:MD1:7") == 1
    assert generation_of("MD1", "7", rebalanced_own_hold_id("MD1", "7", 3)) == 3


line_parts = st.lists(st.integers(0, 50_000), min_size=1, max_size=2)
lines_strategy = st.lists(
    st.tuples(st.integers(0, 50_000), line_parts), min_size=1, max_size=8
).map(
    lambda drawn: [
        HeldLine(str(index), own + sum(parts), shared(*enumerate(parts, start=1)))
        for index, (own, parts) in enumerate(drawn)
    ]
)


@given(lines_strategy, st.integers(-1000, 200_000))
def test_the_move_is_exactly_what_fits_and_every_line_keeps_its_amount(lines, room):
    before_shared = sum(p.amount_fen for line in lines for p in line.shared)
    moved = {line.feedetl_sn: line for line in plan_rebalance(lines, room)}
    after = [moved.get(line.feedetl_sn, line) for line in lines]
    after_shared = sum(p.amount_fen for line in after for p in line.shared)
    assert before_shared - after_shared == min(max(room, 0), before_shared)
    for old, new in zip(lines, after, strict=True):
        assert new.amount_fen == old.amount_fen
        assert new.own_fen >= old.own_fen
        assert all(p.amount_fen > 0 for p in new.shared)
        old_by_rank = {p.rank: p.amount_fen for p in old.shared}
        assert all(p.amount_fen <= old_by_rank[p.rank] for p in new.shared)


@given(lines_strategy, st.integers(0, 200_000), st.randoms())
def test_what_stays_on_each_manager_does_not_depend_on_the_order_of_the_lines(lines, room, rnd):
    def per_manager(ordered: list[HeldLine]) -> dict[int, int]:
        moved = {line.feedetl_sn: line for line in plan_rebalance(ordered, room)}
        totals: dict[int, int] = {}
        for line in ordered:
            for part in moved.get(line.feedetl_sn, line).shared:
                totals[part.rank] = totals.get(part.rank, 0) + part.amount_fen
        return totals

    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert per_manager(lines) == per_manager(shuffled)
