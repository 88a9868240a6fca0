"""Carrying out the escalation sweep's decisions, set-based, in the batch's transaction: the
intents recorded (the ``escalate`` action, ``reporting``), then each resolved (``done`` or
``skipped``) with the ``escalated`` event of every bill reported."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from settlement.billing.tables import BillEvent
from settlement.foundation.db import among, insert_rows
from settlement.scheduler.actions import ACTIONS, claim_actions
from settlement.scheduler.escalation.decide import UNKNOWN_PATIENT
from settlement.scheduler.escalation.facts import ESCALATE
from settlement.scheduler.tables import DONE, REPORTING, SKIPPED
from settlement.usecases.overdue import DueBill

BILL_EVENTS = cast(Table, BillEvent.__table__)


def record_intents(session: Session, bills: Sequence[DueBill], now: datetime) -> list[DueBill]:
    """Record the intent to report each bill (one insert); returns the bills this call claimed
    (a concurrent sweep that claimed one first reports it)."""
    claimed = claim_actions(
        session,
        bill_ids=[bill.bill_id for bill in bills],
        kind=ESCALATE,
        now=now,
        outcome=REPORTING,
    )
    return [bill for bill in bills if bill.bill_id in claimed]


def write_outcomes(
    session: Session,
    *,
    reported: Sequence[DueBill],
    unknown: Sequence[DueBill],
    now: datetime,
    days: int,
) -> None:
    """The intents resolved: ``done`` with an ``escalated`` event for the bills reported,
    ``skipped`` for those whose patient insurance does not know (never tried again)."""
    _resolve(session, reported, outcome=DONE, detail=None)
    _resolve(session, unknown, outcome=SKIPPED, detail=UNKNOWN_PATIENT)
    insert_rows(
        session,
        BILL_EVENTS,
        [
            {
                "bill_id": bill.bill_id,
                "kind": "escalated",
                "from_status": bill.status,
                "to_status": bill.status,
                "amount_fen": bill.amount_fen,
                "detail": {"days_overdue": days},
                "created_at": now,
            }
            for bill in reported
        ],
    )


def _resolve(
    session: Session, bills: Sequence[DueBill], *, outcome: str, detail: str | None
) -> None:
    if not bills:
        return
    ids = [bill.bill_id for bill in bills]
    result = session.execute(
        update(ACTIONS)
        .where(
            ACTIONS.c.kind == ESCALATE,
            ACTIONS.c.outcome == REPORTING,
            among(session, ACTIONS.c.bill_id, ids),
        )
        .values(outcome=outcome, detail=detail)
    )
    changed = int(getattr(result, "rowcount", 0))
    if changed != len(ids):
        # The bills are locked and their intents read under that lock: anything else is a bug.
        raise RuntimeError(f"{len(ids) - changed} of {len(ids)} intents were resolved already")
