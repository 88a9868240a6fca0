"""Where a visit's holds should sit once lines left it: pure code, no database.

The rule is "the relative's own line first, then their managers' lines in link order". Posting
keeps it line by line; a cancelled line frees room on the relative's own line that the lines
still held on a manager's line should take back, or the manager carries what the relative's own
line could, and the family link cannot end while it does (issue 16: the outcome must not depend
on which line happened to be cancelled). :func:`plan_rebalance` says which lines' holds move, and
how they are split afterwards; ``settlement.usecases.family.sharing.rebalance_visit_holds``
writes it in the same transaction as the cancellation.

Holds only move from managers' lines to the relative's own line (never the other way, never
between managers): the last manager in link order is relieved first, so the holds left on
managers are again the first managers' fullest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SharedPart:
    """The part of a fee line held on a manager's line."""

    rank: int  # the manager's position in link order when it was held (1 = first)
    manager_psn_no: str
    link_id: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class HeldLine:
    """A held fee line and how its hold is split: its own part and its shared parts."""

    feedetl_sn: str
    amount_fen: int
    shared: tuple[SharedPart, ...]

    @property
    def own_fen(self) -> int:
        return self.amount_fen - sum(part.amount_fen for part in self.shared)


def plan_rebalance(lines: Sequence[HeldLine], own_room_fen: int) -> list[HeldLine]:
    """The lines whose holds move, as they are to be split afterwards (own part first).

    ``own_room_fen``: what the relative's own line may still take (its available credit, read
    under its lock; a negative figure, a line lowered below its holds, takes nothing). The
    result moves ``min(own_room_fen, shared total)`` from the managers' parts to the lines' own
    parts, the highest rank first, lines in the order given; lines it does not touch are left out.
    """
    room = max(own_room_fen, 0)
    left = {line.feedetl_sn: {part.rank: part.amount_fen for part in line.shared} for line in lines}
    ranks = sorted({part.rank for line in lines for part in line.shared}, reverse=True)
    for rank in ranks:
        for line in lines:
            if room == 0:
                break
            take = min(room, left[line.feedetl_sn].get(rank, 0))
            if take:
                left[line.feedetl_sn][rank] -= take
                room -= take
    return [moved for line in lines if (moved := _with_parts(line, left[line.feedetl_sn])) != line]


def _with_parts(line: HeldLine, left: dict[int, int]) -> HeldLine:
    parts = tuple(
        SharedPart(part.rank, part.manager_psn_no, part.link_id, left[part.rank])
        for part in line.shared
        if left[part.rank] > 0
    )
    return HeldLine(line.feedetl_sn, line.amount_fen, parts)


def rebalanced_own_hold_id(mdtrt_id: str, feedetl_sn: str, generation: int) -> str:
    """The id of a line's own hold after its ``generation``-th split (the first is the posting's
    ``hold:{mdtrt_id}:{feedetl_sn}``): a voided hold's id can never be used again."""
    base = f"hold:{mdtrt_id}:{feedetl_sn}"
    return base if generation == 1 else f"{base}:g{generation}"


def generation_of(mdtrt_id: str, feedetl_sn: str, own_hold_id: str) -> int:
    """Which split of the line ``own_hold_id`` (the line's ``hold_transfer_id``) belongs to."""
    base = f"hold:{mdtrt_id}:{feedetl_sn}"
    if own_hold_id == base:
        return 1
    return int(own_hold_id.removeprefix(f"{base}:g"))
