"""Overdue bills: at ``due_at`` an unpaid bill becomes overdue, the line freezes, people are told
(after N days the credit platform gets a report: ``settlement.scheduler.escalation``).

Each use case reads its facts (:mod:`.facts`), decides in pure code (:mod:`.decide`) and writes
the plan set-based (:mod:`.write`), in the caller's transaction: the caller has locked and
claimed the batch (``settlement.scheduler``) and commits. A sweep may meet a hundred thousand
bills at once, so bills are plain rows, never ORM objects. What each step uses is passed in:
the credit events policy and how people are told.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from credit.events import EventPolicy
from credit.identity import mask_psn_no
from settlement.billing.repayment import history_of
from settlement.usecases.overdue.decide import (
    DueBill,
    decide_freezes,
    decide_overdue,
)
from settlement.usecases.overdue.facts import (
    bill_records,
    latest_decisions,
    lock_patients,
)
from settlement.usecases.overdue.write import write_decisions, write_overdue

logger = logging.getLogger("shuxin.overdue")


class Notify(Protocol):
    """Queues a notice about each bill to its recipients (``notices.notify_bills``, bound)."""

    def __call__(
        self,
        session: Session,
        *,
        bills: Sequence[DueBill],
        kind: str,
        template: str,
        now: datetime,
        **extra: object,
    ) -> int: ...


def mark_overdue(
    session: Session,
    *,
    policy: EventPolicy,
    notify: Notify,
    bills: Sequence[DueBill],
    now: datetime,
) -> list[str]:
    """Make each bill overdue, freeze its patient's line and tell them; returns the bill ids.

    The caller has locked the bills and claimed the ``overdue`` action for each.
    """
    if not bills:
        return []
    patients = sorted({bill.psn_no for bill in bills})
    lock_patients(session, patients)
    plan = decide_overdue(
        bills,
        latest=latest_decisions(session, patients),
        records=bill_records(session, patients),
        policy=policy,
        now=now,
    )
    _warn_undecided(plan.undecided)
    write_overdue(session, plan, now)
    # A notice reads the id, patient, amount and deadline, none of which moved.
    notify(session, bills=plan.bills, kind="overdue", template="overdue", now=now)
    return [bill.bill_id for bill in plan.bills]


def freeze_lines(
    session: Session, *, policy: EventPolicy, bills: Sequence[DueBill], now: datetime
) -> int:
    """Record ``BillOverdue`` for each bill, already overdue in the database: what
    ``record_event`` does, set-based. Returns how many decisions were written."""
    patients = sorted({bill.psn_no for bill in bills})
    if not patients:
        return 0
    lock_patients(session, patients)
    records = bill_records(session, patients)
    decisions, undecided = decide_freezes(
        bills,
        latest=latest_decisions(session, patients),
        histories={psn_no: history_of(list(records[psn_no].values()), now) for psn_no in patients},
        policy=policy,
        today=now.date(),
    )
    _warn_undecided(undecided)
    return write_decisions(session, decisions, now)


def _warn_undecided(patients: Sequence[str]) -> None:
    for psn_no in patients:
        logger.warning("patient %s has no credit decision to freeze", mask_psn_no(psn_no))
