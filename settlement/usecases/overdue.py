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

from sqlalchemy import Table, and_, func, select, text, update
from sqlalchemy.orm import Session

from credit.decision import Decision, Reason
from credit.events import BillOverdue, apply_event
from credit.identity import mask_psn_no
from insurance.money import from_fen
from settlement.billing import bill_states
from settlement.billing.credit_records import to_decision
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.billing.history import repayment_histories
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.db import among, insert_rows
from settlement.foundation.ports import OverdueReport
from settlement.usecases.notices import notify_bills

if TYPE_CHECKING:
    from settlement.bootstrap import Container

logger = logging.getLogger("shuxin.overdue")

BILLS = cast(Table, Bill.__table__)
BILL_EVENTS = cast(Table, BillEvent.__table__)
DECISIONS = cast(Table, CreditDecisionRow.__table__)


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
    # The events go in before the update: their foreign-key checks then find the bills' rows
    # already locked FOR UPDATE by this transaction and take no lock of their own; after the
    # update they would lock each new row version, one more write per bill.
    insert_rows(
        session,
        BILL_EVENTS,
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
    result = session.execute(
        update(BILLS)
        .where(among(session, BILLS.c.bill_id, ids), BILLS.c.status == bill_states.BILLED)
        .values(status=bill_states.OVERDUE, overdue_at=now, version=BILLS.c.version + 1)
    )
    changed = int(getattr(result, "rowcount", 0))
    if changed != len(ids):
        # The rows were locked and re-read by the caller; anything else is a bug, not a race.
        raise RuntimeError(f"{len(ids) - changed} of {len(ids)} bills were not billed any more")
    freeze_lines(session, container=container, bills=bills, now=now)
    notify_bills(
        session,
        container=container,
        bills=bills,  # a notice reads the id, patient, amount and deadline, none of which moved
        kind="overdue",
        template="overdue",
        now=now,
    )
    return ids


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


# -- the credit side, for a whole batch ----------------------------------------------------------


def freeze_lines(
    session: Session, *, container: Container, bills: Sequence[DueBill], now: datetime
) -> int:
    """Record ``BillOverdue`` for each bill: what :func:`record_event` does, set-based.

    Per patient, in ``psn_no`` order: the credit lock ``record_event`` takes, the latest
    decision, :func:`credit.events.apply_event` for each of their bills, the decisions appended.
    Returns how many decisions were written.
    """
    by_patient: dict[str, list[DueBill]] = {}
    for bill in bills:
        by_patient.setdefault(bill.psn_no, []).append(bill)
    patients = sorted(by_patient)
    if not patients:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # The keys CreditRepository.lock_patient uses, taken in one sorted pass (no deadlock).
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended('credit:' || k, 0)) "
                "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"
            ),
            {"keys": patients},
        )
    latest_seq = (
        select(DECISIONS.c.psn_no, func.max(DECISIONS.c.seq).label("seq"))
        .where(among(session, DECISIONS.c.psn_no, patients))
        .group_by(DECISIONS.c.psn_no)
        .subquery()
    )
    # Plain rows, not ORM objects: identity-mapping thousands of decisions costs more than the
    # rest of the batch. They carry the same attributes, which is all ``to_decision`` reads.
    latest = {
        row.psn_no: cast(CreditDecisionRow, row)
        for row in session.execute(
            select(*(DECISIONS.c[name] for name in DECISION_READ)).join(
                latest_seq,
                and_(
                    DECISIONS.c.psn_no == latest_seq.c.psn_no, DECISIONS.c.seq == latest_seq.c.seq
                ),
            )
        ).all()
    }
    histories = repayment_histories(session, patients, now=now)
    policy = container.credit_config.policy
    today = now.date()
    reason_rows: dict[tuple[Reason, ...], list[dict[str, Any]]] = {}
    values: list[dict[str, Any]] = []
    for psn_no in patients:
        row = latest.get(psn_no)
        if row is None:  # a bill without a decision cannot freeze anything
            logger.warning("patient %s has no credit decision to freeze", mask_psn_no(psn_no))
            continue
        decision, seq = to_decision(row), row.seq
        for bill in by_patient[psn_no]:
            decision = apply_event(
                decision,
                BillOverdue(bill.bill_id),
                policy=policy,
                history=histories[psn_no],
                today=today,
            )
            seq += 1
            reasons = reason_rows.get(decision.reasons)
            if reasons is None:
                reasons = reason_rows[decision.reasons] = [_reason_row(r) for r in decision.reasons]
            values.append(_decision_row(psn_no, seq, decision, reasons, now))
    return insert_rows(session, DECISIONS, values)


#: What ``to_decision`` reads, and the ``seq`` the next decision follows.
DECISION_READ = (
    "psn_no",
    "seq",
    "status",
    "line_fen",
    "score",
    "reasons",
    "inputs",
    "scorecard_version",
    "event",
    "suspended_until",
    "overdue_unpaid",
    "as_of",
)


def _reason_row(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "zh": reason.zh,
        "en": reason.en,
        "points_lost": reason.points_lost,
        "attribute": reason.attribute,
    }


def _decision_row(
    psn_no: str, seq: int, decision: Decision, reasons: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """The columns ``CreditRepository.append_decision`` writes (``reasons`` already as rows).

    The reason rows are shared by every decision of a batch with the same reasons, which
    :func:`settlement.foundation.db.insert_rows` then serialises once.
    """
    return {
        "psn_no": psn_no,
        "seq": seq,
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
