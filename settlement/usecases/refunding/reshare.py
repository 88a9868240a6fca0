"""Where a refund before repayment lays a ``visit_end`` bill's new fund legs: pure code.

``settlement.usecases.refunding.fund_share`` re-settles the pooled fund's share when lines of an
unpaid ``visit_end`` bill are refunded. The old legs paid the fund into the lines (the relative's
own line first); the new, smaller share must be laid so that no line gives back more than its
room in the one linked batch that credits the new legs and reverses the old.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from settlement.foundation.errors import ServiceError
from settlement.usecases.family.rebalance import Backer


class SharedRecord(Protocol):
    """A part of a relative's line held on a manager's (``family_shared_holds``), as read."""

    @property
    def manager_psn_no(self) -> str: ...
    @property
    def link_id(self) -> str: ...
    @property
    def rank(self) -> int: ...


def fund_kept(old_legs: Sequence[Mapping[str, Any]], room: Mapping[str, int]) -> dict[str, int]:
    """What of the fund's old legs each line must keep when a refund re-settles the fund: a line
    gives back only what it has room for (``room``: what it may still debit by patient, once the
    refunded charges are reversed). Another visit, or the family's re-balance after an earlier
    refund, may have used the room the fund's legs made on the patient's own line; the lines the
    refund freed take the fund's shrink instead. The refunded charges free at least each line's
    refunded part, and a line's old legs never exceed what it carried, so the kept legs always
    fit the lines' new shares (``settlement.usecases.charging.decide.fund_legs``)."""
    return {line: max(fen - room.get(line, 0), 0) for line, fen in legs_by_line(old_legs).items()}


def legs_by_line(legs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """What the legs pay into each line, in fen, by patient."""
    on_line: dict[str, int] = {}
    for leg in legs:
        on_line[leg["line"]] = on_line.get(leg["line"], 0) + int(leg["amount_fen"])
    return on_line


def fund_backers(
    shared: Mapping[str, Sequence[SharedRecord]],
    room: Mapping[str, int],
    *,
    kept_legs: Mapping[str, int],
) -> list[Backer]:
    """The managers whose lines may take the relative's charges when the fund's legs must
    shrink on a relative's line with no room (:func:`fund_kept`), in link order: each with its
    room beyond what it must keep for its own fund legs (``kept_legs``: its old legs)."""
    first: dict[str, SharedRecord] = {}
    for row in (row for rows in shared.values() for row in rows):
        if row.manager_psn_no not in first or row.rank < first[row.manager_psn_no].rank:
            first[row.manager_psn_no] = row
    return [
        Backer(row.rank, psn_no, row.link_id, room.get(psn_no, 0) - kept_legs.get(psn_no, 0))
        for psn_no, row in sorted(first.items(), key=lambda item: item[1].rank)
        if room.get(psn_no, 0) > kept_legs.get(psn_no, 0)
    ]


@dataclass(frozen=True)
class FundReshare:
    """How a refund re-settling a ``visit_end`` bill's fund lays its new legs on the lines."""

    #: The least each line's new leg must be (:func:`fund_kept`, the relative's after the spill).
    kept: dict[str, int]
    #: What of the relative's own charges must first move onto its managers' lines, in fen.
    spill_fen: int


def reshare_fund(
    old_legs: Sequence[Mapping[str, Any]], room: Mapping[str, int], *, psn_no: str, fund_fen: int
) -> FundReshare:
    """Where the fund's new share (``fund_fen``) may go: each line keeps what it has no room to
    give back of its old legs (:func:`fund_kept`); when that is more than the new share, the
    relative's own line (``psn_no``) keeps fund it no longer has, and that much of its charges
    moves onto its managers' lines (``settlement.usecases.family.rebalance.plan_spill``), which
    gives it the room to give the fund back.

    Only the relative's charges move (a manager's are never moved onto another manager's
    line), so a manager's line that spent the room its own fund legs made, with more kept there
    than the new share, refuses the refund before repayment; after repayment it goes through.

    Raises:
        ServiceError: ``conflict`` if the managers' lines keep more than the new share.
    """
    kept = fund_kept(old_legs, room)
    spill = max(sum(kept.values()) - fund_fen, 0)
    if spill > kept.get(psn_no, 0):
        raise ServiceError(
            "conflict", "the fund's legs kept on the managers' lines exceed its share"
        )
    if spill:
        kept[psn_no] -= spill
    return FundReshare(kept, spill)
