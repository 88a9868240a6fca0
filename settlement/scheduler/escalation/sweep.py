"""Escalation: bills overdue for ``escalate_after`` (policy) are reported to the credit
platform, once each.

Reporting is an outside call, so intent first (:mod:`.decide`): the intents of every bill due a
report are recorded and committed in batches (:func:`.write.record_intents`) before anything is
sent; then every unresolved intent, this run's and any an earlier run left (a crash or a failed
batch after the call), is resolved in batches whose bills are locked: the reports built in pure
code (:func:`.decide.decide_reports`), sent, and the outcomes written set-based
(:func:`.write.write_outcomes`) with the people told. A batch that fails rolls back and its bills
are resolved alone; an intent left unresolved is sent again by the next run, and the platform,
which keeps one report per bill, answers that it has it (:func:`.decide.decide_outcome`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Protocol

from sqlalchemy.orm import Session

from settlement.foundation.ports import CreditPlatform
from settlement.foundation.scheme import SchemePolicy
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.scheduler.batches import BATCH_SIZE, sweep_batches, take_batch
from settlement.scheduler.escalation.decide import decide_outcome, decide_reports
from settlement.scheduler.escalation.facts import (
    ESCALATE,
    certnos,
    due_intents,
    due_reports,
    intents_of,
)
from settlement.scheduler.escalation.write import record_intents, write_outcomes
from settlement.scheduler.reports import SweepReport
from settlement.usecases.notices import NoticesContext, notify_bills
from settlement.usecases.overdue import DueBill

logger = logging.getLogger("shuxin.overdue")

#: Bills per resolving batch: their rows stay locked while their reports are sent, so a payment
#: of one of them waits at most for this many calls to the platform.
REPORT_BATCH = 200


class EscalationContext(NoticesContext, Protocol):
    """What the escalation sweep uses: the scheme (after how long), transactions, the credit
    platform reported to, and what notices use (the insurance platform among them)."""

    @property
    def scheme(self) -> SchemePolicy: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...

    @property
    def credit_platform(self) -> Callable[[Session], CreditPlatform]: ...


def sweep_escalation(context: EscalationContext, now: datetime) -> SweepReport:
    """Bills overdue for N days (policy) are reported to the credit platform, once each."""
    after = context.scheme.escalate_after
    sweep_batches(
        context.uow,
        sweep=ESCALATE,
        now=now,
        due=due_intents(after=after, now=now),
        take=take_batch(BATCH_SIZE),
        act=lambda session, batch: record_intents(session, batch, now),
    )
    outcomes: dict[str, str] = {}
    reported = sweep_batches(
        context.uow,
        sweep=ESCALATE,
        now=now,
        due=due_reports(),
        take=take_batch(REPORT_BATCH),
        act=partial(_report, context, now, after.days, outcomes),
    )
    report = SweepReport(ESCALATE, ids=[bill.bill_id for bill in reported])
    for bill in reported:
        named = outcomes[bill.bill_id]
        report.counts[named] = report.counts.get(named, 0) + 1
        if bill.overdue_at is not None:
            report.fell_due(bill.overdue_at + after)
    return report


def _report(
    context: EscalationContext,
    now: datetime,
    days: int,
    outcomes: dict[str, str],
    session: Session,
    batch: list[DueBill],
) -> list[DueBill]:
    """Resolve the intents of a locked batch; returns the bills reported (now or before)."""
    intents = intents_of(session, batch)
    plan = decide_reports(
        intents, certnos=certnos(context.insurance_platform(session), [i.bill for i in intents])
    )
    for bill in plan.unknown:
        logger.warning("bill %s: patient unknown to insurance, not reported", bill.bill_id)
    platform = context.credit_platform(session)
    reported: list[DueBill] = []
    for bill, overdue in plan.reports:
        outcomes[bill.bill_id] = decide_outcome(platform.report_overdue(overdue))
        reported.append(bill)
    write_outcomes(session, reported=reported, unknown=plan.unknown, now=now, days=days)
    if reported:
        notify_bills(
            session,
            container=context,
            bills=reported,
            kind="escalate",
            template="escalated",
            now=now,
            days=days,
        )
    return reported
