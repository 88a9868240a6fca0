"""The family waterfall, decided in pure code (no database): which line holds what of a batch.

A relative's fee lines draw on their own line first, then on their managers' lines in link order
(oldest accepted first), each line only as far as it has credit left. :func:`decide_waterfall`
takes what each line may still debit (read under the lines' locks by
``settlement.usecases.family.sharing``) and returns the parts to hold, or the shortfall when the
lines together cannot carry the batch; ``sharing`` turns the parts into ledger holds and
``shared_holds`` rows. :func:`repayment_shares` is the way back: what repaying the lines credits
to each line, so each gets back exactly what it carried.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Source:
    """A line a batch may draw on: the relative's own (``rank`` 0, no link) or a manager's."""

    psn_no: str
    rank: int
    link_id: str | None
    #: What the line may still debit, in fen (negative: a line lowered below its holds).
    available_fen: int


@dataclass(frozen=True, slots=True)
class Charge:
    """A fee line of the batch and its amount in fen."""

    feedetl_sn: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Part:
    """The part of a fee line held on one source's line."""

    feedetl_sn: str
    source: Source
    amount_fen: int

    @property
    def shared(self) -> bool:
        return self.source.link_id is not None


@dataclass(frozen=True, slots=True)
class Shortfall:
    """The refusal: the batch needs more than every line together has left."""

    requested_fen: int
    available_fen: int


def decide_waterfall(
    charges: Sequence[Charge], sources: Sequence[Source]
) -> list[Part] | Shortfall:
    """Split each charge, in order, over ``sources`` in order (own line first), greedily.

    Invariants (``tests/unit/family/test_waterfall.py``): a charge's parts sum exactly to its
    amount; no source gives more than ``max(available_fen, 0)`` over the batch; a source is drawn
    on only once every source before it is exhausted; no part is zero. All or nothing: if the
    charges exceed what the sources have left, the answer is a :class:`Shortfall`.
    """
    left = [max(source.available_fen, 0) for source in sources]
    requested = sum(charge.amount_fen for charge in charges)
    if requested > sum(left):
        return Shortfall(requested, sum(left))
    parts: list[Part] = []
    for charge in charges:
        need = charge.amount_fen
        for index, source in enumerate(sources):
            if need == 0:
                break
            take = min(need, left[index])
            if take == 0:
                continue
            need -= take
            left[index] -= take
            parts.append(Part(charge.feedetl_sn, source, take))
    return parts


# -- what a repayment gives back -----------------------------------------------------------------


class Carried(Protocol):
    """A part of a fee line held on a manager's line (a ``shared_holds`` row, or its values)."""

    @property
    def manager_psn_no(self) -> str: ...

    @property
    def amount_fen(self) -> int: ...


def carried_by(psn_no: str, amount_fen: int, shared: Sequence[Carried]) -> list[tuple[str, int]]:
    """Which patient's line carries how many fen of a fee line of ``amount_fen`` charged to
    ``psn_no``: their own part first (if any), then each shared part; sums to the line."""
    own_fen = amount_fen - sum(part.amount_fen for part in shared)
    shares = [(psn_no, own_fen)] if own_fen > 0 else []
    return shares + [(part.manager_psn_no, part.amount_fen) for part in shared]


def repayment_shares(
    psn_no: str, lines: Iterable[tuple[int, Sequence[Carried]]]
) -> list[tuple[str, int]]:
    """What repaying fee lines (each ``(amount_fen, shared parts)``) of ``psn_no`` credits back to
    each line, in fen: the patient's own line first, then each manager's in the order first met;
    lines that carried nothing are left out. The shares sum to the lines' amounts."""
    totals: dict[str, int] = {psn_no: 0}
    for amount_fen, shared in lines:
        for who, fen in carried_by(psn_no, amount_fen, shared):
            totals[who] = totals.get(who, 0) + fen
    return [(who, fen) for who, fen in totals.items() if fen > 0]
