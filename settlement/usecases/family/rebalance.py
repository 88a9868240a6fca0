"""Where a visit's holds should sit once lines left it: pure code, no database.

The rule is "the relative's own line first, then their managers' lines in link order". Posting
keeps it line by line; a cancelled line (open visit) or a refunded one (closed, unpaid bill)
frees room on the relative's own line that the lines still carried on a manager's line should
take back, or the manager carries what the relative's own line could, and the family link cannot
end while it does (issue 16: the outcome must not depend on which line happened to leave).
:func:`plan_rebalance` says which lines move and how they are split afterwards;
:func:`decide_rebalance` turns that into the one batch of ledger transfers and the new hold ids;
``settlement.usecases.family.rebalance_write`` writes it in the same transaction as the
cancellation (``rebalance_holds``) or the refund (``rebalance_charges``).

Holds only move from managers' lines to the relative's own line (never the other way, never
between managers): the last manager in link order is relieved first, so the holds left on
managers are again the first managers' fullest.

A moved line is held again under new ids (its ``generation`` goes up: a voided or reversed
transfer's id is never used again). On an open visit its holds are voided and held anew; on a
billed visit its charges (``post:{hold_id}``) are reversed and charged anew as a hold posted at
once, so ``post:{hold_id}`` stays the charge of every hold a line has, for repayment and refunds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from insurance.money import from_fen
from settlement.ledger import chart
from settlement.ledger.model import TransferRequest


@dataclass(frozen=True, slots=True)
class SharedPart:
    """The part of a fee line held on a manager's line."""

    rank: int  # the manager's position in link order when it was held (1 = first)
    manager_psn_no: str
    link_id: str
    amount_fen: int
    transfer_id: str = ""  # the ledger hold carrying it (``shared_hold_id``)


@dataclass(frozen=True, slots=True)
class HeldLine:
    """A held fee line and how its hold is split: its own part and its shared parts."""

    feedetl_sn: str
    amount_fen: int
    shared: tuple[SharedPart, ...]
    hold_id: str = ""  # the ledger hold of its own part (the fee line's ``hold_transfer_id``)

    @property
    def own_fen(self) -> int:
        return self.amount_fen - sum(part.amount_fen for part in self.shared)


def plan_rebalance(
    lines: Sequence[HeldLine], own_room_fen: int, *, keep_fen: Mapping[str, int] | None = None
) -> list[HeldLine]:
    """The lines whose holds move, as they are to be split afterwards (own part first).

    ``own_room_fen``: what the relative's own line may still take (its available credit, read
    under its lock; a negative figure, a line lowered below its holds, takes nothing). The
    result moves ``min(own_room_fen, shared total)`` from the managers' parts to the lines' own
    parts, the highest rank first, lines in the order given; lines it does not touch are left out.
    ``keep_fen``: what must stay on a manager's line whatever the room, by manager (a
    ``visit_end`` bill's fund legs paid into it: the line carries at least what the fund repaid
    it, so a repayment never owes it less than nothing).
    """
    room = max(own_room_fen, 0)
    left = {line.feedetl_sn: {part.rank: part.amount_fen for part in line.shared} for line in lines}
    movable = _movable(lines, keep_fen or {})
    ranks = sorted({part.rank for line in lines for part in line.shared}, reverse=True)
    for rank in ranks:
        for line in lines:
            manager = next((p.manager_psn_no for p in line.shared if p.rank == rank), None)
            if room == 0 or manager is None:
                continue
            take = min(room, left[line.feedetl_sn][rank], movable[manager])
            if take > 0:
                left[line.feedetl_sn][rank] -= take
                movable[manager] -= take
                room -= take
    return [moved for line in lines if (moved := _with_parts(line, left[line.feedetl_sn])) != line]


def _movable(lines: Sequence[HeldLine], keep_fen: Mapping[str, int]) -> dict[str, int]:
    """What may move off each manager's line: what the lines carry on it, less what it keeps."""
    carried: dict[str, int] = {}
    for line in lines:
        for part in line.shared:
            carried[part.manager_psn_no] = carried.get(part.manager_psn_no, 0) + part.amount_fen
    return {psn_no: max(fen - keep_fen.get(psn_no, 0), 0) for psn_no, fen in carried.items()}


def _with_parts(line: HeldLine, left: dict[int, int]) -> HeldLine:
    parts = tuple(
        replace(part, amount_fen=left[part.rank]) for part in line.shared if left[part.rank] > 0
    )
    return replace(line, shared=parts)


@dataclass(frozen=True, slots=True)
class Rebalance:
    """What a re-balance writes: the moved lines as split afterwards, under their new hold ids
    (``hold_id``, each part's ``transfer_id``), and the one linked batch of transfers."""

    lines: tuple[HeldLine, ...]
    transfers: tuple[TransferRequest, ...]


def decide_rebalance(
    *,
    mdtrt_id: str,
    psn_no: str,
    lines: Sequence[HeldLine],
    own_room_fen: int,
    billed: bool,
    keep_fen: Mapping[str, int] | None = None,
) -> Rebalance:
    """The re-balance of a visit's lines (:func:`plan_rebalance`) as ledger transfers.

    ``lines``: the visit's lines that carry something on a manager's line, with their current
    hold ids; ``psn_no``: the relative's; ``billed``: the visit is closed and its holds posted
    (the lines are charges of an unpaid bill) rather than held. The batch undoes every hold of a
    moved line first (voids, or reversals of the charges), then holds it again as split
    afterwards (and posts those holds when ``billed``), so the relative's line gains before it
    gives and every limit holds at each step; each line's parts still sum to its amount.
    ``keep_fen``: what must stay on each manager's line (:func:`plan_rebalance`).
    """
    moved = plan_rebalance(lines, own_room_fen, keep_fen=keep_fen)
    return resplit(mdtrt_id=mdtrt_id, psn_no=psn_no, lines=lines, moved=moved, billed=billed)


def resplit(
    *,
    mdtrt_id: str,
    psn_no: str,
    lines: Sequence[HeldLine],
    moved: Sequence[HeldLine],
    billed: bool,
) -> Rebalance:
    """``moved`` (some of ``lines``, as split afterwards) as one linked batch: every hold of a
    moved line undone first, then held again under new ids (and posted when ``billed``)."""
    before = {line.feedetl_sn: line for line in lines}
    after = tuple(_held_again(mdtrt_id, line, before[line.feedetl_sn].hold_id) for line in moved)
    undo = [
        transfer
        for line in moved
        for transfer in _undo(mdtrt_id, psn_no, before[line.feedetl_sn], billed=billed)
    ]
    holds = [hold for line in after for hold in _holds(mdtrt_id, psn_no, line)]
    posts = [_post(mdtrt_id, hold.id) for hold in holds] if billed else []
    return Rebalance(after, (*undo, *holds, *posts))


@dataclass(frozen=True, slots=True)
class Backer:
    """A manager's line that may take some of the relative's charges, and how much."""

    rank: int
    manager_psn_no: str
    link_id: str
    room_fen: int


def plan_spill(
    lines: Sequence[HeldLine], amount_fen: int, backers: Sequence[Backer]
) -> list[HeldLine]:
    """Move ``amount_fen`` of the lines' own parts onto the backers' lines: the lines posted
    last first (as posting spills them), each backer in the order given up to its room. The
    opposite of :func:`plan_rebalance`, for the one case the relative's own line must carry
    less: a refund shrinks the fund's share paid into it while it has no room to give the
    difference back (``settlement.usecases.refunding.fund_share``).

    Raises:
        ValueError: if the lines' own parts or the backers' room hold less than ``amount_fen``.
    """
    left = amount_fen
    split = {line.feedetl_sn: line for line in lines}
    for backer in backers:
        room = backer.room_fen
        for line in reversed(lines):
            take = min(left, room, split[line.feedetl_sn].own_fen)
            if take > 0:
                split[line.feedetl_sn] = _with_more_shared(split[line.feedetl_sn], backer, take)
                left -= take
                room -= take
    if left:
        raise ValueError(f"{from_fen(left)} of the relative's charges find no manager's room")
    return [moved for line in lines if (moved := split[line.feedetl_sn]) != line]


def _with_more_shared(line: HeldLine, backer: Backer, fen: int) -> HeldLine:
    parts = {part.rank: part for part in line.shared}
    part = parts.get(backer.rank) or SharedPart(
        backer.rank, backer.manager_psn_no, backer.link_id, 0
    )
    parts[backer.rank] = replace(part, amount_fen=part.amount_fen + fen)
    return replace(line, shared=tuple(parts[rank] for rank in sorted(parts)))


def _held_again(mdtrt_id: str, line: HeldLine, hold_id: str) -> HeldLine:
    generation = generation_of(mdtrt_id, line.feedetl_sn, hold_id) + 1
    parts = tuple(
        replace(
            part,
            transfer_id=f"{shared_hold_id(mdtrt_id, line.feedetl_sn, part.rank)}:g{generation}",
        )
        for part in line.shared
    )
    own = rebalanced_own_hold_id(mdtrt_id, line.feedetl_sn, generation)
    return replace(line, shared=parts, hold_id=own)


def _carriers(psn_no: str, line: HeldLine) -> list[tuple[str, str, int]]:
    """Each hold of ``line`` as (hold id, the line account it debits, fen): own part first."""
    own = [(line.hold_id, chart.patient_line(psn_no), line.own_fen)] if line.own_fen > 0 else []
    return own + [
        (part.transfer_id, chart.patient_line(part.manager_psn_no), part.amount_fen)
        for part in line.shared
    ]


def _undo(mdtrt_id: str, psn_no: str, line: HeldLine, *, billed: bool) -> list[TransferRequest]:
    sales = chart.visit_sales(mdtrt_id)
    if not billed:
        return [
            TransferRequest(
                id=f"void:{hold_id}",
                kind="void_pending",
                pending_id=hold_id,
                code="hold_rebalance",
                reference=mdtrt_id,
            )
            for hold_id, _account, _fen in _carriers(psn_no, line)
        ]
    return [
        TransferRequest(
            id=f"rebalance:{hold_id}",
            debit_account=sales,
            credit_account=account,
            amount=from_fen(fen),
            code="charge_rebalance",
            reference=mdtrt_id,
            reverses_id=f"post:{hold_id}",
        )
        for hold_id, account, fen in _carriers(psn_no, line)
    ]


def _holds(mdtrt_id: str, psn_no: str, line: HeldLine) -> list[TransferRequest]:
    own = {line.hold_id}
    return [
        TransferRequest(
            id=hold_id,
            kind="pending",
            debit_account=account,
            credit_account=chart.visit_sales(mdtrt_id),
            amount=from_fen(fen),
            code="hold" if hold_id in own else "hold_shared",
            reference=mdtrt_id,
        )
        for hold_id, account, fen in _carriers(psn_no, line)
    ]


def _post(mdtrt_id: str, hold_id: str) -> TransferRequest:
    """A re-balanced charge: not ``bill`` (the reconciliation counts close's charges once)."""
    return TransferRequest(
        id=f"post:{hold_id}",
        kind="post_pending",
        pending_id=hold_id,
        code="bill_rebalance",
        reference=mdtrt_id,
    )


def shared_hold_id(mdtrt_id: str, feedetl_sn: str, rank: int) -> str:
    """The id of a fee line's first hold on the ``rank``-th manager's line."""
    base = f"hold:{mdtrt_id}:{feedetl_sn}:shared"
    return base if rank == 1 else f"{base}:{rank}"


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
