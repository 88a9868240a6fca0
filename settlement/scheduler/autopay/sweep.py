"""Auto-pay (无感支付): the withholding payment of bills whose patient authorised it, once each.

``on_close`` pays at the first sweep after the bill is made; ``before_deadline`` within the
policy's lead time (``autopay_before``) of ``due_at``. A bill whose deadline has already passed
when the scheduler comes to it (the scheduler ran late) is still paid: this sweep runs before
the overdue sweep in the same run, and only a bill whose auto-pay failed goes overdue.

The shape of every use case: :mod:`.facts` reads a page and each bill under its lock,
:mod:`.decide` says what to do in pure code, :mod:`.write` records it; the payment itself is
the paying use case's (``start_payment``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.autopay import write
from settlement.scheduler.autopay.decide import (
    BILLED,
    Leave,
    Skip,
    decide_attempt,
    decide_candidates,
)
from settlement.scheduler.autopay.facts import (
    AUTOPAY,
    Key,
    autopay_choices,
    candidate_page,
    locked_status,
    withholding_provider,
)
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.usecases.overdue import DueBill
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.payments import start_payment, wallet_for

logger = logging.getLogger("shuxin.scheduler")


def sweep_autopay(context: PayingContext, now: datetime) -> SweepReport:
    """Start the withholding payment (无感支付) of bills whose patient authorised it, once each.

    Every page of candidates is handled in this run, so none is left for the overdue sweep that
    follows; each bill in a transaction of its own (a failure is recorded, the others go on).
    """
    report = SweepReport(AUTOPAY)
    lead = context.scheme.autopay_before
    after: Key | None = None
    while True:
        with context.uow() as uow:
            page, after = candidate_page(uow.session, lead=lead, now=now, after=after)
            choices = autopay_choices(uow.session, {bill.psn_no for bill in page})
        for candidate in decide_candidates(page, choices=choices, lead=lead, now=now):
            outcome = isolated(
                context.uow,
                sweep=AUTOPAY,
                item_id=candidate.bill_id,
                now=now,
                work=partial(_autopay_one, context, candidate, now),
            )
            named = "error" if isinstance(outcome, Failed) else outcome
            report.counts[named] = report.counts.get(named, 0) + 1
            if named == "started":
                report.ids.append(candidate.bill_id)
        if after is None:
            return report


def _autopay_one(context: PayingContext, bill: DueBill, now: datetime, uow: UnitOfWork) -> str:
    session = uow.session
    status = locked_status(session, bill.bill_id)
    # The agreement is looked up only for a bill auto-pay may still pay.
    wallet = partial(wallet_for, context, session)
    provider = withholding_provider(wallet, bill.psn_no) if status == BILLED else None
    attempt = decide_attempt(status, provider)
    if isinstance(attempt, Leave):
        return attempt.outcome
    if isinstance(attempt, Skip):
        write.skip(session, bill.bill_id, now, attempt.detail)
        uow.commit()
        return attempt.outcome
    if not write.claim(session, bill.bill_id, now):
        return Leave().outcome
    try:
        start_payment(
            uow,
            container=context,
            bill_id=bill.bill_id,
            payer_psn_no=bill.psn_no,
            provider=attempt.provider,
            channel=AUTOPAY,
        )
        uow.commit()
        return attempt.outcome
    except ServiceError as error:
        failure = error.code
    uow.rollback()
    write.refused(
        session,
        bill_id=bill.bill_id,
        failure=failure,
        settings=context.settings,
        people=context.insurance_platform(session),
        now=now,
    )
    uow.commit()
    logger.info("auto-pay of bill %s refused: %s", bill.bill_id, failure)
    return "failed"
