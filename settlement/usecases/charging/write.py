"""What a decided charge, cancellation or close writes: set-based statements, no decisions.

The holds themselves are written by ``settlement.usecases.family.sharing`` (the patient's own
line first, then their managers', under the ledger's locks); this module writes the fee lines and
moves the holds of lines that already exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from insurance.money import from_fen
from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import FeeLine, Visit
from settlement.foundation.clock import Clock
from settlement.foundation.db import execute_on_connection
from settlement.ledger import chart
from settlement.ledger.ledger import TransferRequest, create_transfers
from settlement.ledger.model import TransferKind
from settlement.usecases.family.rebalance import (
    HeldLine,
    SharedPart,
    generation_of,
    plan_rebalance,
    rebalanced_own_hold_id,
)
from settlement.usecases.family.sharing import line_hold_ids, lock_lines, shared_hold_id

FEE_LINES = cast(Table, FeeLine.__table__)


def insert_fee_lines(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """The decided batches' fee lines, in one multi-row INSERT."""
    execute_on_connection(session, insert(FEE_LINES), list(rows))


def void_line_holds(
    session: Session,
    *,
    mdtrt_id: str,
    lines: Iterable[FeeLine],
    shared: Mapping[str, Sequence[SharedHold]],
    clock: Clock,
    now: datetime,
) -> None:
    """Release every hold of ``lines`` (their own and their shared parts) and cancel them."""
    _resolve_holds(session, "void", mdtrt_id, list(lines), shared, clock=clock, now=now)
    session.flush()


def post_line_holds(
    session: Session,
    *,
    mdtrt_id: str,
    lines: Iterable[FeeLine],
    shared: Mapping[str, Sequence[SharedHold]],
    clock: Clock,
    now: datetime,
) -> None:
    """Post every hold of ``lines`` (the visit is billed) and mark them billed."""
    _resolve_holds(session, "post", mdtrt_id, list(lines), shared, clock=clock, now=now)


#: How a line's holds are resolved: the transfer kind, its code, and the line's status after.
_RESOLUTIONS: dict[str, tuple[TransferKind, str, str]] = {
    "void": ("void_pending", "hold_cancel", "cancelled"),
    "post": ("post_pending", "bill", "billed"),
}


def _resolve_holds(
    session: Session,
    how: str,
    mdtrt_id: str,
    lines: list[FeeLine],
    shared: Mapping[str, Sequence[SharedHold]],
    *,
    clock: Clock,
    now: datetime,
) -> None:
    kind, code, status = _RESOLUTIONS[how]
    create_transfers(
        session,
        [
            TransferRequest(
                id=f"{how}:{hold_id}",
                kind=kind,
                pending_id=hold_id,
                code=code,
                reference=mdtrt_id,
            )
            for line in lines
            for hold_id in line_hold_ids(line, shared.get(line.feedetl_sn, []))
        ],
        clock=clock,
    )
    for line in lines:
        line.status = status
        line.changed_at = now


def forget_shared_parts(session: Session, *, mdtrt_id: str, feedetl_sns: Sequence[str]) -> None:
    """Drop the shared-hold records of lines that no longer hold anything (cancelled): the
    ledger keeps their holds and voids; the records only say what a line still carries, and a
    family link cannot end while its relative's visit has one."""
    if feedetl_sns:
        session.execute(
            delete(SharedHold).where(
                SharedHold.mdtrt_id == mdtrt_id, SharedHold.feedetl_sn.in_(list(feedetl_sns))
            )
        )


def rebalance_holds(
    session: Session,
    *,
    visit: Visit,
    shared: Mapping[str, Sequence[SharedHold]],
    clock: Clock,
    now: datetime,
) -> None:
    """Move what the visit's held lines carry on managers' lines back to the relative's own line,
    as far as its room goes (``settlement.usecases.family.rebalance``). The caller holds the
    visit's row lock. A visit with nothing on a manager's line reads and writes nothing."""
    held = [line for line in visit.fees if line.status == "held" and shared.get(line.feedetl_sn)]
    if not held:
        return
    own_line = chart.patient_line(visit.psn_no)
    room = lock_lines(session, [own_line]).get(own_line, 0)
    moves = plan_rebalance([_held_line(line, shared[line.feedetl_sn]) for line in held], room)
    if not moves:
        return
    by_sn = {line.feedetl_sn: line for line in held}
    lines = [by_sn[move.feedetl_sn] for move in moves]
    voids = [
        TransferRequest(
            id=f"void:{hold_id}",
            kind="void_pending",
            pending_id=hold_id,
            code="hold_rebalance",
            reference=visit.mdtrt_id,
        )
        for line in lines
        for hold_id in line_hold_ids(line, shared[line.feedetl_sn])
    ]
    holds: list[TransferRequest] = []
    rows: list[SharedHold] = []
    for line, move in zip(lines, moves, strict=True):
        generation = generation_of(visit.mdtrt_id, line.feedetl_sn, line.hold_transfer_id) + 1
        line.hold_transfer_id = rebalanced_own_hold_id(visit.mdtrt_id, line.feedetl_sn, generation)
        line.changed_at = now
        holds.append(_hold(visit, line.hold_transfer_id, own_line, move.own_fen, "hold"))
        for part in move.shared:
            transfer_id = f"{shared_hold_id(visit.mdtrt_id, line.feedetl_sn, part.rank)}"
            transfer_id += f":g{generation}"
            manager_line = chart.patient_line(part.manager_psn_no)
            holds.append(_hold(visit, transfer_id, manager_line, part.amount_fen, "hold_shared"))
            rows.append(_shared_row(visit, line.feedetl_sn, transfer_id, part, now))
    create_transfers(session, [*voids, *holds], clock=clock)
    forget_shared_parts(session, mdtrt_id=visit.mdtrt_id, feedetl_sns=[m.feedetl_sn for m in moves])
    session.add_all(rows)
    session.flush()


def _held_line(line: FeeLine, shared: Sequence[SharedHold]) -> HeldLine:
    parts = tuple(
        SharedPart(row.rank, row.manager_psn_no, row.link_id, row.amount_fen) for row in shared
    )
    return HeldLine(line.feedetl_sn, line.det_item_fee_sumamt_fen, parts)


def _hold(visit: Visit, transfer_id: str, line: str, fen: int, code: str) -> TransferRequest:
    return TransferRequest(
        id=transfer_id,
        kind="pending",
        debit_account=line,
        credit_account=chart.visit_sales(visit.mdtrt_id),
        amount=from_fen(fen),
        code=code,
        reference=visit.mdtrt_id,
    )


def _shared_row(
    visit: Visit, feedetl_sn: str, transfer_id: str, part: SharedPart, now: datetime
) -> SharedHold:
    return SharedHold(
        transfer_id=transfer_id,
        mdtrt_id=visit.mdtrt_id,
        feedetl_sn=feedetl_sn,
        relative_psn_no=visit.psn_no,
        manager_psn_no=part.manager_psn_no,
        link_id=part.link_id,
        amount_fen=part.amount_fen,
        rank=part.rank,
        created_at=now,
    )
