"""Overdue bills: at ``due_at`` an unpaid bill becomes overdue, the line freezes, people are told;
after N days the credit platform gets a report.

Functions take the caller's session and a batch the caller has locked and claimed (see
``settlement.scheduler``); they flush and never commit. Bills are handled as plain rows and written
with set-based statements, because a sweep may meet a hundred thousand of them at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from credit.decision import RepaymentHistory
from credit.events import BillOverdue
from insurance.money import from_fen
from settlement.adapters.ports import OverdueReport
from settlement.care import bill_states
from settlement.care.history import repayment_history
from settlement.care.tables import Bill, BillEvent
from settlement.credit_service.errors import CreditServiceError
from settlement.credit_service.service import record_event
from settlement.messages.notices import notify_bills

if TYPE_CHECKING:
    from settlement.bootstrap import Container

logger = logging.getLogger("shuxin.overdue")

BILLS = cast(Table, Bill.__table__)
BILL_EVENTS = cast(Table, BillEvent.__table__)
#: Overdue bills still unpaid.
OVERDUE_UNPAID = (bill_states.OVERDUE, bill_states.PAYING_LATE)


@dataclass(frozen=True, slots=True)
class DueBill:
    """The columns of a bill a sweep needs, read without loading the ORM object."""

    bill_id: str
    psn_no: str
    hospital_code: str
    status: str
    amount_fen: int
    closed_at: datetime
    due_at: datetime
    overdue_at: datetime | None

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


DUE_BILL_COLUMNS = (
    Bill.bill_id,
    Bill.psn_no,
    Bill.hospital_code,
    Bill.status,
    Bill.medfee_sumamt_fen,
    Bill.closed_at,
    Bill.due_at,
    Bill.overdue_at,
)


def due_bill(row: Any) -> DueBill:
    """A row of :data:`DUE_BILL_COLUMNS` as a :class:`DueBill`."""
    bill_id, psn_no, hospital_code, status, amount_fen, closed_at, due_at, overdue_at = row
    return DueBill(
        bill_id, psn_no, hospital_code, status, amount_fen, closed_at, due_at, overdue_at
    )


class FixedClock:
    """The sweep's ``now`` for every write of one batch, so they all carry the same time."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def mark_overdue(
    session: Session, *, container: Container, bills: Sequence[DueBill], now: datetime
) -> list[str]:
    """Make each bill overdue, freeze its patient's line and tell them; returns the bill ids.

    The caller has locked the bills and claimed the ``overdue`` action for each.
    """
    for bill in bills:
        bill_states.check_transition(bill.status, bill_states.OVERDUE)
    ids = [bill.bill_id for bill in bills]
    if not ids:
        return []
    result = session.execute(
        update(BILLS)
        .where(BILLS.c.bill_id.in_(ids), BILLS.c.status == bill_states.BILLED)
        .values(status=bill_states.OVERDUE, overdue_at=now, version=BILLS.c.version + 1)
    )
    changed = int(getattr(result, "rowcount", 0))
    if changed != len(ids):
        # The rows were locked and re-read by the caller; anything else is a bug, not a race.
        raise RuntimeError(f"{len(ids) - changed} of {len(ids)} bills were not billed any more")
    session.execute(
        insert(BILL_EVENTS),
        [
            {
                "bill_id": bill.bill_id,
                "kind": "overdue",
                "from_status": bill.status,
                "to_status": bill_states.OVERDUE,
                "amount_fen": bill.amount_fen,
                "detail": {"due_at": bill.due_at.isoformat()},
                "created_at": now,
            }
            for bill in bills
        ],
    )
    clock = FixedClock(now)
    histories: dict[str, RepaymentHistory] = {}
    for bill in bills:
        history = histories.get(bill.psn_no)
        if history is None:
            history = histories[bill.psn_no] = repayment_history(
                session, psn_no=bill.psn_no, now=now
            )
        try:
            record_event(
                session,
                config=container.credit_config,
                clock=clock,
                psn_no=bill.psn_no,
                event=BillOverdue(bill.bill_id),
                history=history,
            )
        except CreditServiceError as error:  # a bill without a decision cannot freeze anything
            logger.warning("bill %s overdue, credit not updated: %s", bill.bill_id, error.code)
    notify_bills(
        session,
        container=container,
        bills=[_as_overdue(bill, now) for bill in bills],
        kind="overdue",
        template="overdue",
        now=now,
    )
    return ids


def _as_overdue(bill: DueBill, now: datetime) -> DueBill:
    return DueBill(
        bill.bill_id,
        bill.psn_no,
        bill.hospital_code,
        bill_states.OVERDUE,
        bill.amount_fen,
        bill.closed_at,
        bill.due_at,
        now,
    )


def escalate_overdue(
    session: Session,
    *,
    container: Container,
    bills: Sequence[DueBill],
    now: datetime,
    days: int,
) -> list[str]:
    """Report each overdue bill to the credit platform once; returns the bills reported."""
    insurance = container.insurance_platform(session)
    platform = container.credit_platform(session)
    reported: list[DueBill] = []
    for bill in bills:
        person = insurance.lookup_person(bill.psn_no)
        if person is None:
            logger.warning("bill %s: patient unknown to insurance, not reported", bill.bill_id)
            continue
        platform.report_overdue(
            OverdueReport(
                psn_no=bill.psn_no,
                certno=person.certno,
                bill_id=bill.bill_id,
                amount=bill.amount,
                reported_at=now,
            )
        )
        reported.append(bill)
    if reported:
        session.add_all(
            BillEvent(
                bill_id=bill.bill_id,
                kind="escalated",
                from_status=bill.status,
                to_status=bill.status,
                amount_fen=bill.amount_fen,
                detail={"days_overdue": days},
                created_at=now,
            )
            for bill in reported
        )
        notify_bills(
            session,
            container=container,
            bills=reported,
            kind="escalate",
            template="escalated",
            now=now,
            days=days,
        )
    return [bill.bill_id for bill in reported]
