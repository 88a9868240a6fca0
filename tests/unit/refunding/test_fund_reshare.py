"""A refund re-settling a ``visit_end`` bill's fund lays the new legs where the lines can bear
them (``reshare_fund``, ``fund_legs``, ``plan_spill``), without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurance.money import from_fen
from settlement.foundation.errors import ServiceError
from settlement.usecases.charging.decide import fund_legs
from settlement.usecases.family.rebalance import Backer, HeldLine, SharedPart, plan_spill
from settlement.usecases.refunding.reshare import fund_backers, legs_by_line, reshare_fund

R, M1, M2 = "R", "M1", "M2"


def leg(line: str, fen: int) -> dict[str, object]:
    return {"line": line, "amount_fen": fen}


def test_a_full_relatives_line_spills_what_the_fund_no_longer_pays_onto_the_manager():
    # The relative's line carries its 467.50 of fund with no room left; the refund freed 50.00
    # on the manager's line and the fund's share fell to 440.00.
    reshare = reshare_fund([leg(R, 46_750)], {R: 0, M1: 5000}, psn_no=R, fund_fen=44_000)
    assert (reshare.spill_fen, reshare.kept) == (2750, {R: 44_000})


def test_with_room_the_fund_shrinks_on_the_relatives_line_and_nothing_moves():
    reshare = reshare_fund([leg(R, 46_750)], {R: 3000, M1: 5000}, psn_no=R, fund_fen=44_000)
    assert (reshare.spill_fen, reshare.kept) == (0, {R: 43_750})
    legs = fund_legs(
        "S", R, 44_000, [(R, Decimal("900.00")), (M1, Decimal("50.00"))], kept=reshare.kept
    )
    assert [(leg["line"], leg["amount_fen"]) for leg in legs] == [(R, 44_000)]


def test_a_manager_that_cannot_give_back_its_legs_keeps_them_and_the_relative_takes_less():
    legs = fund_legs(
        "S", R, 10_000, [(R, Decimal("500.00")), (M1, Decimal("300.00"))], kept={M1: 6000}
    )
    assert [(leg["line"], leg["amount_fen"], leg["id"]) for leg in legs] == [
        (R, 4000, "fund:S:hifp"),
        (M1, 6000, "fund:S:hifp:M1"),
    ]


def test_kept_legs_beyond_a_lines_share_or_the_funds_are_refused():
    with pytest.raises(ServiceError):
        fund_legs("S", R, 10_000, [(R, Decimal("500.00")), (M1, Decimal("30.00"))], kept={M1: 6000})
    with pytest.raises(ServiceError):
        fund_legs("S", R, 1000, [(R, Decimal("500.00"))], kept={R: 2000})
    with pytest.raises(ServiceError):
        fund_legs("S", R, 1000, [(R, Decimal("500.00"))], kept={M1: 1})


def test_the_spill_takes_the_last_lines_own_parts_onto_the_first_backer_first():
    lines = [HeldLine("1", 10_000, ()), HeldLine("2", 3000, (SharedPart(1, M1, "L1", 1000),))]
    backers = [Backer(1, M1, "L1", 2500), Backer(2, M2, "L2", 9000)]
    moved = plan_spill(lines, 4000, backers)
    assert [
        (line.feedetl_sn, line.own_fen, [(p.rank, p.amount_fen) for p in line.shared])
        for line in moved
    ] == [
        ("1", 8000, [(1, 500), (2, 1500)]),
        ("2", 0, [(1, 3000)]),
    ]
    with pytest.raises(ValueError, match="no manager's room"):
        plan_spill(lines, 11_501, backers)


@st.composite
def refunds(draw: st.DrawFn) -> dict[str, object]:
    """A family's lines before a refund, the old fund legs on them, the refunded parts, the
    room each line has once the refunded charges are reversed, and the fund's new share."""
    people = [R, *draw(st.sampled_from([[M1], [M1, M2]]))]
    before = {p: draw(st.integers(0, 100_000)) for p in people}
    refunded = {p: draw(st.integers(0, before[p])) for p in people}
    old = {p: draw(st.integers(0, before[p])) for p in people}  # any lay-out within the lines
    fund = sum(old.values())
    spent = {p: draw(st.integers(0, before[p] - old[p])) for p in people}  # room used elsewhere
    after = {p: before[p] - refunded[p] for p in people}
    shrink_most = min(fund, sum(refunded.values()))
    new_fund = fund - draw(st.integers(0, shrink_most))
    if new_fund > sum(after.values()):
        return draw(st.nothing())
    # room: the fund's old legs, less what was spent of it, plus the refunded charges freed
    room = {p: old[p] - min(spent[p], old[p]) + refunded[p] for p in people}
    return {"people": people, "after": after, "old": old, "room": room, "new_fund": new_fund}


@given(refunds())
def test_the_new_legs_sum_to_the_funds_share_fit_the_lines_and_no_line_is_overdrawn(case):
    people, after, room = case["people"], case["after"], case["room"]
    old_legs = [leg(p, fen) for p, fen in case["old"].items() if fen]
    managers_keep = sum(max(case["old"][p] - room[p], 0) for p in people[1:])
    if managers_keep > case["new_fund"]:
        # Known limit: only the relative's charges move onto managers' lines, never a manager's
        # elsewhere, so a manager that spent the room its fund legs made refuses such a refund.
        with pytest.raises(ServiceError, match="kept on the managers' lines"):
            reshare_fund(old_legs, room, psn_no=R, fund_fen=case["new_fund"])
        return
    reshare = reshare_fund(old_legs, room, psn_no=R, fund_fen=case["new_fund"])
    shares = dict(after)
    rooms = dict(room)
    if reshare.spill_fen:
        shared = {"x": [SharedPart(rank, p, f"L{p}", 0) for rank, p in enumerate(people[1:], 1)]}
        backers = fund_backers(shared, room, kept_legs=legs_by_line(old_legs))
        own = [HeldLine("x", shares[R], ())]
        (moved,) = plan_spill(own, reshare.spill_fen, backers)
        for part in moved.shared:
            shares[part.manager_psn_no] += part.amount_fen
            rooms[part.manager_psn_no] -= part.amount_fen
        shares[R] -= reshare.spill_fen
        rooms[R] += reshare.spill_fen
    legs = legs_by_line(
        fund_legs(
            "S", R, case["new_fund"], [(p, from_fen(shares[p])) for p in people], kept=reshare.kept
        )
    )
    assert sum(legs.values()) == case["new_fund"]
    assert all(legs.get(p, 0) <= shares[p] for p in people)
    # the batch credits the new legs and debits the old: no line gives back more than its room
    assert all(case["old"][p] - legs.get(p, 0) <= rooms[p] for p in people)
    assert all(rooms[p] >= 0 for p in people)
