"""The relative's own line first, kept after lines leave a visit: the re-balance's reads and writes.

:mod:`settlement.usecases.family.rebalance` decides (pure); this module reads what it decides
on (the visit's lines that carry something on a manager's line, and the room on the relative's
own line under its lock) and writes the decision: one linked ledger batch, the moved lines' new
hold ids and their ``shared_holds`` rows replaced. The caller holds the visit's (or its bill's)
row lock and owns the transaction: a cancellation (``rebalance_holds``, open visit) or a refund
before payment (``rebalance_charges``, closed visit, unpaid bill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import FeeLine, Visit
from settlement.foundation.clock import Clock
from settlement.foundation.errors import ServiceError
from settlement.ledger import chart
from settlement.ledger.ledger import create_transfers
from settlement.usecases.family.rebalance import (
    Backer,
    HeldLine,
    Rebalance,
    SharedPart,
    decide_rebalance,
    plan_spill,
    resplit,
)
from settlement.usecases.family.sharing import lock_lines


def rebalance_holds(
    session: Session,
    *,
    visit: Visit,
    shared: Mapping[str, Sequence[SharedHold]],
    clock: Clock,
    now: datetime,
) -> None:
    """Move what the open visit's held lines carry on managers' lines back to the relative's own
    line, as far as its room goes. ``shared``: the visit's shared-hold records by line, without
    those of the lines that just left. Nothing on a manager's line: reads and writes nothing."""
    _rebalance(session, visit=visit, status="held", shared=shared, clock=clock, now=now)


def rebalance_charges(
    session: Session,
    *,
    visit: Visit,
    shared: Mapping[str, Sequence[SharedHold]],
    clock: Clock,
    now: datetime,
    keep_fen: Mapping[str, int] | None = None,
) -> None:
    """:func:`rebalance_holds` for a closed visit whose bill is unpaid: the billed lines' charges
    move from managers' lines to the relative's own line (reversed and charged again).
    ``keep_fen``: what must stay on each manager's line (a ``visit_end`` bill's fund legs in it)."""
    _rebalance(
        session,
        visit=visit,
        status="billed",
        shared=shared,
        clock=clock,
        now=now,
        keep_fen=keep_fen,
    )


def _rebalance(
    session: Session,
    *,
    visit: Visit,
    status: str,
    shared: Mapping[str, Sequence[SharedHold]],
    clock: Clock,
    now: datetime,
    keep_fen: Mapping[str, int] | None = None,
) -> None:
    lines = {
        line.feedetl_sn: line
        for line in visit.fees
        if line.status == status and shared.get(line.feedetl_sn)
    }
    if not lines:
        return
    own_line = chart.patient_line(visit.psn_no)
    plan = decide_rebalance(
        mdtrt_id=visit.mdtrt_id,
        psn_no=visit.psn_no,
        lines=[held_line(line, shared[sn]) for sn, line in lines.items()],
        own_room_fen=lock_lines(session, [own_line]).get(own_line, 0),
        billed=status == "billed",
        keep_fen=keep_fen,
    )
    _write(session, visit=visit, lines=lines, plan=plan, clock=clock, now=now)


def spill_charges(
    session: Session,
    *,
    visit: Visit,
    shared: Mapping[str, Sequence[SharedHold]],
    amount_fen: int,
    backers: Sequence[Backer],
    clock: Clock,
    now: datetime,
) -> None:
    """Move ``amount_fen`` of the closed visit's charges from the relative's own line onto the
    ``backers``' lines (:func:`settlement.usecases.family.rebalance.plan_spill`), in the
    caller's transaction, the lines locked. ``shared``: the billed lines' shared-hold records."""
    lines = {line.feedetl_sn: line for line in visit.fees if line.status == "billed"}
    held = [held_line(line, shared.get(sn, ())) for sn, line in lines.items()]
    try:
        moved = plan_spill(held, amount_fen, backers)
    except ValueError as refused:
        raise ServiceError("conflict", f"{visit.mdtrt_id}: {refused}") from refused
    plan = resplit(
        mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no, lines=held, moved=moved, billed=True
    )
    _write(session, visit=visit, lines=lines, plan=plan, clock=clock, now=now)


def _write(
    session: Session,
    *,
    visit: Visit,
    lines: Mapping[str, FeeLine],
    plan: Rebalance,
    clock: Clock,
    now: datetime,
) -> None:
    """One linked batch of the plan's transfers; the moved lines' hold ids and shared records."""
    if not plan.lines:
        return
    create_transfers(session, list(plan.transfers), clock=clock)
    for moved in plan.lines:
        lines[moved.feedetl_sn].hold_transfer_id = moved.hold_id
        lines[moved.feedetl_sn].changed_at = now
    forget_shared_parts(
        session, mdtrt_id=visit.mdtrt_id, feedetl_sns=[line.feedetl_sn for line in plan.lines]
    )
    session.add_all(
        _shared_row(visit, line.feedetl_sn, part, now)
        for line in plan.lines
        for part in line.shared
    )
    session.flush()


def forget_shared_parts(session: Session, *, mdtrt_id: str, feedetl_sns: Sequence[str]) -> None:
    """Drop the shared-hold records of lines (cancelled, refunded, or about to be recorded
    afresh): the ledger keeps their holds and charges; the records only say what a line still
    carries, and a family link cannot end while its relative's visit or unpaid bill has one."""
    if feedetl_sns:
        session.execute(
            delete(SharedHold).where(
                SharedHold.mdtrt_id == mdtrt_id, SharedHold.feedetl_sn.in_(list(feedetl_sns))
            )
        )


def held_line(line: FeeLine, shared: Sequence[SharedHold]) -> HeldLine:
    """A fee line as the decision sees it: its amount, its own hold, its shared parts."""
    parts = tuple(
        SharedPart(row.rank, row.manager_psn_no, row.link_id, row.amount_fen, row.transfer_id)
        for row in shared
    )
    return HeldLine(line.feedetl_sn, line.det_item_fee_sumamt_fen, parts, line.hold_transfer_id)


def _shared_row(visit: Visit, feedetl_sn: str, part: SharedPart, now: datetime) -> SharedHold:
    return SharedHold(
        transfer_id=part.transfer_id,
        mdtrt_id=visit.mdtrt_id,
        feedetl_sn=feedetl_sn,
        relative_psn_no=visit.psn_no,
        manager_psn_no=part.manager_psn_no,
        link_id=part.link_id,
        amount_fen=part.amount_fen,
        rank=part.rank,
        created_at=now,
    )
