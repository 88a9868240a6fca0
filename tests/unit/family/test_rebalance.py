"""Re-balancing a visit's holds (settlement.usecases.family.rebalance) without a database."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.family.rebalance import (
    HeldLine,
    Rebalance,
    SharedPart,
    decide_rebalance,
    generation_of,
    plan_rebalance,
    rebalanced_own_hold_id,
    shared_hold_id,
)
from settlement.usecases.family.waterfall import Charge, Shortfall, Source, decide_waterfall

D = Decimal


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


def test_a_manager_keeps_on_their_line_what_the_fund_repaid_into_it():
    # visit_end: the fund's 30.00 went into M1's line, which carries 50.00 of the bill.
    lines = [HeldLine("1", 6000, shared((1, 2000))), HeldLine("2", 3000, shared((1, 3000)))]
    moved = plan_rebalance(lines, own_room_fen=90_000, keep_fen={"M1": 3000})
    assert [(line.feedetl_sn, line.own_fen, line.shared) for line in moved] == [("1", 6000, ())]
    assert plan_rebalance(lines, own_room_fen=90_000, keep_fen={"M1": 5000}) == []


@given(lines_strategy, st.integers(-1000, 200_000), st.lists(st.integers(0, 60_000), max_size=2))
def test_what_a_manager_keeps_stays_and_the_rest_moves_as_far_as_the_room_goes(lines, room, keep):
    keep_fen = {f"M{rank}": fen for rank, fen in enumerate(keep, start=1)}
    carried = {
        rank: sum(p.amount_fen for line in lines for p in line.shared if p.rank == rank)
        for rank in (1, 2)
    }
    movable = sum(max(fen - keep_fen.get(f"M{rank}", 0), 0) for rank, fen in carried.items())
    moved = {line.feedetl_sn: line for line in plan_rebalance(lines, room, keep_fen=keep_fen)}
    after = [moved.get(line.feedetl_sn, line) for line in lines]
    for rank, before in carried.items():
        left = sum(p.amount_fen for line in after for p in line.shared if p.rank == rank)
        assert left >= min(before, keep_fen.get(f"M{rank}", 0))
    gone = sum(carried.values()) - sum(p.amount_fen for line in after for p in line.shared)
    assert gone == min(max(room, 0), movable)
    assert all(new.amount_fen == old.amount_fen for old, new in zip(lines, after, strict=True))


# -- the decision as ledger transfers ------------------------------------------------------------


def held(sn: str, fen: int, *parts: tuple[int, int], generation: int = 1) -> HeldLine:
    """A line of visit MD1 held for relative R, its parts under the ids posting gave them."""
    suffix = "" if generation == 1 else f":g{generation}"
    return HeldLine(
        sn,
        fen,
        tuple(
            SharedPart(rank, f"M{rank}", f"L{rank}", part, shared_hold_id("MD1", sn, rank) + suffix)
            for rank, part in parts
        ),
        rebalanced_own_hold_id("MD1", sn, generation),
    )


def test_a_billed_line_is_reversed_off_the_managers_line_and_charged_again_on_the_relatives():
    plan = decide_rebalance(
        mdtrt_id="MD1",
        psn_no="R",
        lines=[held("2", 3333, (1, 3333))],
        own_room_fen=90_000,
        billed=True,
    )
    (line,) = plan.lines
    assert (line.hold_id, line.own_fen, line.shared) == ("hold:MD1:2:g2", 3333, ())
    assert [
        (t.id, t.kind, t.debit_account, t.credit_account, t.amount, t.code) for t in plan.transfers
    ] == [
        (
            "rebalance:hold:MD1:2:shared",
            "single_phase",
            "visit:MD1:sales",
            "patient:M1:line",
            D("33.33"),
            "charge_rebalance",
        ),
        ("hold:MD1:2:g2", "pending", "patient:R:line", "visit:MD1:sales", D("33.33"), "hold"),
        ("post:hold:MD1:2:g2", "post_pending", None, None, None, "bill_rebalance"),
    ]
    assert plan.transfers[0].reverses_id == "post:hold:MD1:2:shared"
    assert plan.transfers[2].pending_id == "hold:MD1:2:g2"


def test_a_held_line_is_voided_and_held_again_without_a_charge():
    plan = decide_rebalance(
        mdtrt_id="MD1",
        psn_no="R",
        lines=[held("7", 10_000, (1, 4000), (2, 3000), generation=2)],
        own_room_fen=3500,
        billed=False,
    )
    (line,) = plan.lines
    assert line.hold_id == "hold:MD1:7:g3"
    assert [(p.transfer_id, p.amount_fen) for p in line.shared] == [("hold:MD1:7:shared:g3", 3500)]
    assert [(t.id, t.kind) for t in plan.transfers] == [
        ("void:hold:MD1:7:g2", "void_pending"),
        ("void:hold:MD1:7:shared:g2", "void_pending"),
        ("void:hold:MD1:7:shared:2:g2", "void_pending"),
        ("hold:MD1:7:g3", "pending"),
        ("hold:MD1:7:shared:g3", "pending"),
    ]


def test_a_line_wholly_on_a_manager_has_no_own_hold_to_undo():
    plan = decide_rebalance(
        mdtrt_id="MD1", psn_no="R", lines=[held("3", 500, (1, 500))], own_room_fen=200, billed=True
    )
    assert [t.id for t in plan.transfers if t.kind == "single_phase"] == [
        "rebalance:hold:MD1:3:shared"
    ]
    assert [p.amount_fen for p in plan.lines[0].shared] == [300]


def test_nothing_to_move_writes_nothing():
    assert decide_rebalance(
        mdtrt_id="MD1", psn_no="R", lines=[held("3", 500, (1, 500))], own_room_fen=0, billed=True
    ) == Rebalance((), ())


def _net_debits(transfers, pending_amounts):
    """Each line account's net change in what it carries (posted or held), in fen."""
    net: dict[str, int] = {}
    for t in transfers:
        if t.kind in ("single_phase", "pending"):
            fen = int(t.amount * 100)
            net[t.debit_account] = net.get(t.debit_account, 0) + fen
            net[t.credit_account] = net.get(t.credit_account, 0) - fen
        elif t.kind == "void_pending":
            account, fen = pending_amounts[t.pending_id]
            net[account] = net.get(account, 0) - fen
            net["visit:MD1:sales"] = net.get("visit:MD1:sales", 0) + fen
    return net


@given(lines_strategy, st.integers(-1000, 200_000), st.booleans())
def test_the_batch_moves_exactly_the_plan_and_each_line_keeps_its_amount(lines, room, billed):
    lines = [
        held(
            line.feedetl_sn,
            line.amount_fen,
            *((p.rank, p.amount_fen) for p in line.shared if p.amount_fen),
        )
        for line in lines
    ]
    plan = decide_rebalance(
        mdtrt_id="MD1", psn_no="R", lines=lines, own_room_fen=room, billed=billed
    )
    moved_fen = min(max(room, 0), sum(p.amount_fen for line in lines for p in line.shared))
    before = {line.feedetl_sn: line for line in lines}
    pending = {}
    for line in lines:
        if line.own_fen:
            pending[line.hold_id] = ("patient:R:line", line.own_fen)
        for p in line.shared:
            pending[p.transfer_id] = (f"patient:{p.manager_psn_no}:line", p.amount_fen)
    net = _net_debits(plan.transfers, pending)
    assert net.get("patient:R:line", 0) == moved_fen
    assert sum(fen for account, fen in net.items() if account.startswith("patient:M")) == -moved_fen
    assert net.get("visit:MD1:sales", 0) == 0
    old_ids = set(pending)
    new_ids = [t.id for t in plan.transfers if t.kind == "pending"]
    assert len(set(new_ids)) == len(new_ids) and not old_ids & set(new_ids)
    for line in plan.lines:
        assert (
            line.own_fen + sum(p.amount_fen for p in line.shared)
            == before[line.feedetl_sn].amount_fen
        )
        assert line.hold_id in new_ids and all(p.transfer_id in new_ids for p in line.shared)
    posts = {t.pending_id for t in plan.transfers if t.kind == "post_pending"}
    assert posts == (set(new_ids) if billed else set())


# -- posting, then lines leaving, in any order -----------------------------------------------------

OWN_LINE = 90_000
MANAGER_LINES = (60_000, 40_000)


def _post(lines: dict[str, HeldLine], amounts: list[int], next_sn: int) -> None:
    """Post a batch as sharing does: the waterfall over what each line has left."""
    used = {rank: 0 for rank in range(len(MANAGER_LINES) + 1)}
    for line in lines.values():
        used[0] += line.own_fen
        for part in line.shared:
            used[part.rank] += part.amount_fen
    sources = [Source("R", 0, None, OWN_LINE - used[0])] + [
        Source(f"M{rank}", rank, f"L{rank}", room - used[rank])
        for rank, room in enumerate(MANAGER_LINES, start=1)
    ]
    charges = [Charge(str(next_sn + i), fen) for i, fen in enumerate(amounts)]
    parts = decide_waterfall(charges, sources)
    if isinstance(parts, Shortfall):
        return
    for charge in charges:
        shared = tuple(
            SharedPart(p.source.rank, p.source.psn_no, p.source.link_id or "", p.amount_fen)
            for p in parts
            if p.feedetl_sn == charge.feedetl_sn and p.shared
        )
        lines[charge.feedetl_sn] = HeldLine(charge.feedetl_sn, charge.amount_fen, shared)


def _leave(lines: dict[str, HeldLine], sn: str) -> None:
    """A line cancelled or refunded, then the re-balance of the rest."""
    del lines[sn]
    own_used = sum(line.own_fen for line in lines.values())
    for moved in plan_rebalance(list(lines.values()), OWN_LINE - own_used):
        lines[moved.feedetl_sn] = moved


step = st.one_of(
    st.tuples(st.just("post"), st.lists(st.integers(1, 60_000), min_size=1, max_size=3)),
    st.tuples(st.just("leave"), st.integers(0, 30)),
)


@given(st.lists(step, max_size=15))
def test_whatever_the_order_the_relatives_line_carries_what_it_can_of_what_remains(steps):
    lines: dict[str, HeldLine] = {}
    for number, (kind, what) in enumerate(steps):
        if kind == "post":
            _post(lines, what, next_sn=number * 10)
        elif lines:
            _leave(lines, sorted(lines)[what % len(lines)])
        total = sum(line.amount_fen for line in lines.values())
        own = sum(line.own_fen for line in lines.values())
        assert own == min(total, OWN_LINE)  # only what remains decides it
        for line in lines.values():
            assert line.own_fen >= 0 and all(p.amount_fen > 0 for p in line.shared)
        for rank, room in enumerate(MANAGER_LINES, start=1):
            carried = sum(
                p.amount_fen for held in lines.values() for p in held.shared if p.rank == rank
            )
            assert carried <= room  # no line overspent
