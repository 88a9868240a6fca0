"""The family waterfall, decided in pure code (no database): which line holds what of a batch.

A relative's fee lines draw on their own line first, then on their managers' lines in link order
(oldest accepted first), each line only as far as it has credit left. :func:`decide_waterfall`
takes what each line may still debit (read under the lines' locks by
``settlement.usecases.family.sharing``) and returns the parts to hold, or the shortfall when the
lines together cannot carry the batch; ``sharing`` turns the parts into ledger holds and
``shared_holds`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
