"""What a decided charge, cancellation or close writes: set-based statements, no decisions.

The holds themselves are written by ``settlement.usecases.family.sharing`` (the patient's own
line first, then their managers', under the ledger's locks), and moved between lines by
``settlement.usecases.family.rebalance_write``; this module writes the fee lines and posts or
voids the holds of lines that already exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import FeeLine
from settlement.foundation.clock import Clock
from settlement.foundation.db import insert_all
from settlement.ledger.ledger import TransferRequest, create_transfers
from settlement.ledger.model import TransferKind
from settlement.usecases.family.sharing import line_hold_ids

FEE_LINES = cast(Table, FeeLine.__table__)


def insert_fee_lines(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """The decided batches' fee lines, in one INSERT."""
    insert_all(session, FEE_LINES, rows)


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
