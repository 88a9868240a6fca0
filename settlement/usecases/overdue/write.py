"""Carrying out the overdue sweep's plan: set-based statements in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from credit.decision import Reason
from settlement.billing import bill_states
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.db import among, insert_rows
from settlement.usecases.overdue.decide import NewDecision, OverduePlan

BILLS = cast(Table, Bill.__table__)
BILL_EVENTS = cast(Table, BillEvent.__table__)
DECISIONS = cast(Table, CreditDecisionRow.__table__)


def write_overdue(session: Session, plan: OverduePlan, now: datetime) -> None:
    """The events, the bills' new status and the credit decisions of ``plan``.

    The events go in before the update: their foreign-key checks then find the bills' rows
    already locked FOR UPDATE by this transaction and take no lock of their own; after the
    update they would lock each new row version, one more write per bill.
    """
    if not plan.bills:
        return
    ids = [bill.bill_id for bill in plan.bills]
    insert_rows(session, BILL_EVENTS, plan.events)
    result = session.execute(
        update(BILLS)
        .where(among(session, BILLS.c.bill_id, ids), BILLS.c.status == bill_states.BILLED)
        .values(status=bill_states.OVERDUE, overdue_at=now, version=BILLS.c.version + 1)
    )
    changed = int(getattr(result, "rowcount", 0))
    if changed != len(ids):
        # The rows were locked and re-read by the caller; anything else is a bug, not a race.
        raise RuntimeError(f"{len(ids) - changed} of {len(ids)} bills were not billed any more")
    write_decisions(session, plan.decisions, now)


def write_decisions(session: Session, decisions: Sequence[NewDecision], now: datetime) -> int:
    """Append the decisions as ``CreditRepository.append_decision`` does; returns how many.

    The reason rows are shared by every decision with the same reasons, which
    :func:`settlement.foundation.db.insert_rows` then serialises once.
    """
    reason_rows: dict[tuple[Reason, ...], list[dict[str, Any]]] = {}
    values: list[dict[str, Any]] = []
    for new in decisions:
        decision = new.decision
        reasons = reason_rows.get(decision.reasons)
        if reasons is None:
            reasons = reason_rows[decision.reasons] = [_reason_row(r) for r in decision.reasons]
        values.append(
            {
                "psn_no": new.psn_no,
                "seq": new.seq,
                "status": decision.status,
                "line_fen": decision.line_fen,
                "score": decision.score,
                "reasons": reasons,
                "inputs": decision.inputs,
                "scorecard_version": decision.scorecard_version,
                "event": decision.event,
                "suspended_until": decision.suspended_until,
                "overdue_unpaid": decision.overdue_unpaid,
                "as_of": decision.as_of,
                "decided_at": now,
            }
        )
    return insert_rows(session, DECISIONS, values)


def _reason_row(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "zh": reason.zh,
        "en": reason.en,
        "points_lost": reason.points_lost,
        "attribute": reason.attribute,
    }
