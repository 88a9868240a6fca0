"""What the escalation sweep reads: the bills due an intent and the intents to resolve (the
queries its locked batches take), a batch's intents (one statement) and the ID numbers insurance
knows of its patients (one call)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from settlement.billing import bill_states
from settlement.billing.tables import Bill
from settlement.foundation.db import among
from settlement.foundation.ports import InsurancePlatform
from settlement.scheduler.batches import due_bills, not_done
from settlement.scheduler.escalation.decide import Intent
from settlement.scheduler.tables import REPORTING, ScheduledAction
from settlement.usecases.overdue import DueBill

ESCALATE = "escalate"


def due_intents(*, after: timedelta, now: datetime) -> Select[Any]:
    """Bills overdue and unpaid for ``after`` or longer, with no ``escalate`` action yet (neither
    intended nor done), oldest overdue first."""
    return due_bills(
        Bill.status.in_(bill_states.OVERDUE_UNPAID),
        Bill.overdue_at <= now - after,
        not_done(ESCALATE),
    ).order_by(Bill.overdue_at, Bill.bill_id)


def due_reports() -> Select[Any]:
    """Bills whose ``escalate`` intent is recorded and not yet resolved, whatever their status
    now (an intent is carried out as it was made), oldest overdue first."""
    intended = exists().where(
        ScheduledAction.bill_id == Bill.bill_id,
        ScheduledAction.kind == ESCALATE,
        ScheduledAction.outcome == REPORTING,
    )
    return due_bills(intended).order_by(Bill.overdue_at, Bill.bill_id)


def intents_of(session: Session, bills: Sequence[DueBill]) -> list[Intent]:
    """The unresolved intents of ``bills`` (locked by the caller), in their order."""
    rows = session.execute(
        select(ScheduledAction.bill_id, ScheduledAction.done_at).where(
            ScheduledAction.kind == ESCALATE,
            ScheduledAction.outcome == REPORTING,
            among(session, ScheduledAction.bill_id, [bill.bill_id for bill in bills]),
        )
    )
    made = {bill_id: done_at for bill_id, done_at in rows}
    return [Intent(bill, made[bill.bill_id]) for bill in bills if bill.bill_id in made]


def certnos(insurance: InsurancePlatform, bills: Sequence[DueBill]) -> dict[str, str]:
    """The ID number insurance knows of each bill's patient, by ``psn_no`` (one lookup)."""
    found = insurance.lookup_persons(sorted({bill.psn_no for bill in bills}))
    return {psn_no: person.certno for psn_no, person in found.items()}
