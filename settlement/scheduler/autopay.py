"""Auto-pay (无感支付): the withholding payment of bills whose patient authorised it, once each.

``on_close`` pays at the first sweep after the bill is made; ``before_deadline`` within the
policy's lead time (``autopay_before``) of ``due_at``. A bill whose deadline has already passed
when the scheduler comes to it (the scheduler ran late) is still paid: this sweep runs before
the overdue sweep in the same run, and only a bill whose auto-pay failed goes overdue.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from settlement.adapters.wallet_tables import PROVIDERS
from settlement.billing import bill_states
from settlement.billing.credit_tables import AgreementSignatureRow
from settlement.billing.tables import Bill
from settlement.foundation.db import skip_locked
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.scheduler.actions import claim_actions
from settlement.scheduler.context import SchedulerContext
from settlement.scheduler.failures import Failed, isolated
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.tables import FAILED, SKIPPED, ScheduledAction
from settlement.usecases import notices
from settlement.usecases.overdue import DUE_BILL_COLUMNS, DueBill, due_bill
from settlement.usecases.paying.payments import start_payment, wallet_for

logger = logging.getLogger("shuxin.scheduler")

AUTOPAY = "autopay"
#: Bills read per page; every page is handled before the overdue sweep runs.
PAGE_SIZE = 2000


def _signed(choice: str) -> Any:
    return exists().where(
        AgreementSignatureRow.psn_no == Bill.psn_no,
        AgreementSignatureRow.revoked_at.is_(None),
        AgreementSignatureRow.autopay == choice,
    )


def _autopay_choice(session: Session, psn_nos: set[str]) -> dict[str, str]:
    """Each patient's ``autopay`` in their newest signature still in force."""
    rows = session.execute(
        select(AgreementSignatureRow.psn_no, AgreementSignatureRow.autopay)
        .where(
            AgreementSignatureRow.psn_no.in_(psn_nos), AgreementSignatureRow.revoked_at.is_(None)
        )
        .order_by(AgreementSignatureRow.version, AgreementSignatureRow.id)
    ).all()
    return {psn_no: autopay for psn_no, autopay in rows}


Key = tuple[datetime, str]


def autopay_candidates(
    container: SchedulerContext, session: Session, now: datetime, *, after: Key | None = None
) -> tuple[list[DueBill], Key | None]:
    """A page of unpaid bills whose patient chose ``on_close``, or ``before_deadline`` and it is
    time (or past it), in ``(due_at, bill_id)`` order after ``after``; and the key to read the
    next page from (``None``: this was the last)."""
    lead = container.scheme.autopay_before
    query = select(*DUE_BILL_COLUMNS).where(
        Bill.status == bill_states.BILLED,
        or_(_signed("on_close"), and_(_signed("before_deadline"), Bill.due_at <= now + lead)),
        ~exists().where(ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == AUTOPAY),
    )
    if after is not None:
        due_at, bill_id = after
        query = query.where(
            or_(Bill.due_at > due_at, and_(Bill.due_at == due_at, Bill.bill_id > bill_id))
        )
    page = [
        due_bill(row)
        for row in session.execute(query.order_by(Bill.due_at, Bill.bill_id).limit(PAGE_SIZE)).all()
    ]
    following = (page[-1].due_at, page[-1].bill_id) if len(page) == PAGE_SIZE else None
    # A patient may have signed several versions; the newest signature's choice counts.
    choice = _autopay_choice(session, {b.psn_no for b in page})
    wanted = [
        b
        for b in page
        if choice.get(b.psn_no) == "on_close"
        or (choice.get(b.psn_no) == "before_deadline" and b.due_at - lead <= now)
    ]
    return wanted, following


def sweep_autopay(container: SchedulerContext, now: datetime) -> SweepReport:
    """Start the withholding payment (无感支付) of bills whose patient authorised it, once each.

    Every page of candidates is handled in this run, so none is left for the overdue sweep that
    follows; each bill in a transaction of its own (a failure is recorded, the others go on).
    """
    report = SweepReport(AUTOPAY)
    after: Key | None = None
    while True:
        with container.uow() as uow:
            candidates, after = autopay_candidates(container, uow.session, now, after=after)
        for candidate in candidates:
            outcome = isolated(
                container.uow,
                sweep=AUTOPAY,
                item_id=candidate.bill_id,
                now=now,
                work=partial(_autopay_one, container, candidate, now),
            )
            named = "error" if isinstance(outcome, Failed) else outcome
            report.counts[named] = report.counts.get(named, 0) + 1
            if named == "started":
                report.ids.append(candidate.bill_id)
        if after is None:
            return report


def withholding_provider(container: SchedulerContext, session: Session, psn_no: str) -> str | None:
    """The wallet provider holding the patient's withholding agreement, if any."""
    for provider in PROVIDERS:
        if wallet_for(container, session, provider).has_agreement(psn_no):
            return str(provider)
    return None


def _autopay_one(container: SchedulerContext, bill: DueBill, now: datetime, uow: UnitOfWork) -> str:
    session = uow.session
    locked = skip_locked(session, select(Bill.status).where(Bill.bill_id == bill.bill_id), Bill)
    if session.scalars(locked).first() != bill_states.BILLED:
        return "busy"
    provider = withholding_provider(container, session, bill.psn_no)
    if provider is None:
        claim_actions(
            session,
            bill_ids=[bill.bill_id],
            kind=AUTOPAY,
            now=now,
            outcome=SKIPPED,
            detail="no withholding agreement",
        )
        uow.commit()
        return "no_agreement"
    if not claim_actions(session, bill_ids=[bill.bill_id], kind=AUTOPAY, now=now):
        return "busy"
    try:
        start_payment(
            uow,
            container=container,
            bill_id=bill.bill_id,
            payer_psn_no=bill.psn_no,
            provider=provider,
            channel=AUTOPAY,
        )
        uow.commit()
        return "started"
    except ServiceError as error:
        failure = error.code
    # The payment was refused: record that it was tried, so it is not tried every minute, and
    # tell the patient (and managers) to pay by hand.
    uow.rollback()
    claim_actions(
        session, bill_ids=[bill.bill_id], kind=AUTOPAY, now=now, outcome=FAILED, detail=failure
    )
    notices.autopay_failed(
        session,
        settings=container.settings,
        people=container.insurance_platform(session),
        bill=session.get_one(Bill, bill.bill_id),
        now=now,
    )
    uow.commit()
    logger.info("auto-pay of bill %s refused: %s", bill.bill_id, failure)
    return "failed"
