"""Carrying out an auto-pay decision, in the bill's own transaction: the ``autopay`` action
recorded (once per bill: the claim), the payment started, or its refusal recorded and told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from settlement.billing.tables import Bill
from settlement.foundation.config import Settings
from settlement.foundation.ports import InsurancePlatform
from settlement.scheduler.actions import claim_actions
from settlement.scheduler.autopay.facts import AUTOPAY
from settlement.scheduler.tables import FAILED, SKIPPED
from settlement.usecases import notices


def claim(session: Session, bill_id: str, now: datetime) -> bool:
    """Record the ``autopay`` action as done; ``False`` if another transaction already has."""
    return bool(claim_actions(session, bill_ids=[bill_id], kind=AUTOPAY, now=now))


def skip(session: Session, bill_id: str, now: datetime, detail: str) -> None:
    """Record the ``autopay`` action as skipped (it is never tried again)."""
    claim_actions(
        session, bill_ids=[bill_id], kind=AUTOPAY, now=now, outcome=SKIPPED, detail=detail
    )


def refused(
    session: Session,
    *,
    bill_id: str,
    failure: str,
    settings: Settings,
    people: InsurancePlatform,
    now: datetime,
) -> None:
    """The payment was refused: record that it was tried (``failed``, with the refusal's code),
    so it is not tried every minute, and tell the patient (and managers) to pay by hand."""
    claim_actions(
        session, bill_ids=[bill_id], kind=AUTOPAY, now=now, outcome=FAILED, detail=failure
    )
    notices.autopay_failed(
        session, settings=settings, people=people, bill=session.get_one(Bill, bill_id), now=now
    )
