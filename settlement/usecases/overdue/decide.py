"""What the overdue sweep does to a batch of bills, decided in pure code (no database).

:func:`due_now` says which bills of a batch past their deadline become overdue: not a bill the
insurance accounts cover whose settlement is still being retried (``awaiting_insurance``: its
settlement at close failed, the platform's failure, and the patient owes ¥0.00 from the wallet;
``settlement.scheduler.covered``). Such a bill is never overdue while it waits, however long the
platform fails. Once the retry settles it, there is nothing to be overdue; once the retry sets it
aside (a balance moved and the wallet now has a part), it waits for the patient like any bill,
but is never due sooner than the policy's ``min_notice`` (24 h) after it was set aside
(:func:`deadline_when_set_aside`): the moment the patient first owes something, as a bill made
late (``close_visit``) is. A bill set aside before that still keeps its deadline.

:func:`decide_overdue` takes the facts :mod:`.facts` loaded (the bills, each patient's latest
credit decision and bills' rows) and returns the plan :mod:`.write` carries out: the bills to
mark, their history events and each patient's new credit decisions, one per bill, as
``record_event`` would append them. :func:`decide_escalation` picks the bills to report (the
escalation sweep, ``settlement.scheduler.escalation``, reports them intent first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from credit.decision import Decision, RepaymentHistory
from credit.events import BillOverdue, EventPolicy, apply_event
from insurance.money import from_fen
from settlement.billing import bill_states
from settlement.billing.repayment import BillRecord, history_of


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
    #: The insurance accounts cover it and its settlement is being retried (read by the overdue
    #: sweep only; ``settlement.scheduler.covered.awaiting_settlement``).
    awaiting_insurance: bool = False

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


@dataclass(frozen=True, slots=True)
class LatestDecision:
    """A patient's latest credit decision and its place in their sequence."""

    decision: Decision
    seq: int


@dataclass(frozen=True, slots=True)
class NewDecision:
    psn_no: str
    seq: int
    decision: Decision


@dataclass(frozen=True)
class OverduePlan:
    """The bills to make overdue (with their events) and the credit decisions that follow."""

    bills: tuple[DueBill, ...]
    events: tuple[dict[str, Any], ...]
    decisions: tuple[NewDecision, ...]
    #: Patients with no credit decision to freeze (logged, never guessed).
    undecided: tuple[str, ...]


def due_now(bills: Sequence[DueBill]) -> tuple[tuple[DueBill, ...], tuple[DueBill, ...]]:
    """Of a batch of bills past their deadline, those that become overdue now, and those left
    alone while they wait for the insurance platform (the patient owes nothing from the wallet)."""
    due = tuple(bill for bill in bills if not bill.awaiting_insurance)
    waiting = tuple(bill for bill in bills if bill.awaiting_insurance)
    return due, waiting


def deadline_when_set_aside(due_at: datetime, *, now: datetime, min_notice: timedelta) -> datetime:
    """The deadline of a covered bill the retry sets aside at ``now`` (the wallet now has a
    part): its own, but never sooner than ``min_notice`` after ``now``."""
    return max(due_at, now + min_notice)


def decide_overdue(
    bills: Sequence[DueBill],
    *,
    latest: Mapping[str, LatestDecision],
    records: Mapping[str, Mapping[str, BillRecord]],
    policy: EventPolicy,
    now: datetime,
) -> OverduePlan:
    """Each bill overdue at ``now``, and the credit decisions that follow (:func:`decide_freezes`).

    ``records``: each patient's bills as the repayment history reads them, by ``bill_id``; the
    history each decision reads is theirs once this batch's bills are overdue.
    """
    for bill in bills:
        bill_states.check_transition(bill.status, bill_states.OVERDUE)
    theirs: dict[str, list[DueBill]] = {}
    for bill in bills:
        theirs.setdefault(bill.psn_no, []).append(bill)
    histories = {
        psn_no: history_of(_made_overdue(records.get(psn_no, {}), patient_bills, now), now)
        for psn_no, patient_bills in theirs.items()
    }
    decisions, undecided = decide_freezes(
        bills, latest=latest, histories=histories, policy=policy, today=now.date()
    )
    events = tuple(_event(bill, now) for bill in bills)
    return OverduePlan(tuple(bills), events, decisions, undecided)


def decide_freezes(
    bills: Sequence[DueBill],
    *,
    latest: Mapping[str, LatestDecision],
    histories: Mapping[str, RepaymentHistory],
    policy: EventPolicy,
    today: date,
) -> tuple[tuple[NewDecision, ...], tuple[str, ...]]:
    """Per patient (in ``psn_no`` order), ``BillOverdue`` for each of their bills applied to
    their latest decision: the decisions ``record_event`` would append, one per bill; and the
    patients without a decision to freeze."""
    by_patient: dict[str, list[DueBill]] = {}
    for bill in bills:
        by_patient.setdefault(bill.psn_no, []).append(bill)
    decisions: list[NewDecision] = []
    undecided: list[str] = []
    for psn_no in sorted(by_patient):
        found = latest.get(psn_no)
        if found is None:  # a bill without a decision cannot freeze anything
            undecided.append(psn_no)
            continue
        decision, seq = found.decision, found.seq
        for bill in by_patient[psn_no]:
            decision = apply_event(
                decision,
                BillOverdue(bill.bill_id),
                policy=policy,
                history=histories[psn_no],
                today=today,
            )
            seq += 1
            decisions.append(NewDecision(psn_no, seq, decision))
    return tuple(decisions), tuple(undecided)


def _made_overdue(
    records: Mapping[str, BillRecord], bills: Sequence[DueBill], now: datetime
) -> list[BillRecord]:
    """A patient's bills' rows as they read once ``bills`` (theirs) are overdue."""
    rows = dict(records)
    for bill in bills:
        if bill.bill_id in rows:  # a bill with nothing to pay is not in the history
            _, due_at, settled_at, _ = rows[bill.bill_id]
            rows[bill.bill_id] = (bill_states.OVERDUE, due_at, settled_at, now)
    return list(rows.values())


def _event(bill: DueBill, now: datetime) -> dict[str, Any]:
    return {
        "bill_id": bill.bill_id,
        "kind": "overdue",
        "from_status": bill.status,
        "to_status": bill_states.OVERDUE,
        "amount_fen": bill.amount_fen,
        "detail": {"due_at": bill.due_at.isoformat()},
        "created_at": now,
    }


@dataclass(frozen=True)
class Escalation:
    """A bill to report to the credit platform, with the ID number the report carries."""

    bill: DueBill
    certno: str


def decide_escalation(
    bills: Sequence[DueBill], *, certnos: Mapping[str, str]
) -> tuple[list[Escalation], list[DueBill]]:
    """The bills whose patient insurance knows (reported) and those it does not (skipped)."""
    known = [Escalation(bill, certnos[bill.psn_no]) for bill in bills if bill.psn_no in certnos]
    unknown = [bill for bill in bills if bill.psn_no not in certnos]
    return known, unknown
