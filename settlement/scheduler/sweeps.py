"""The sweeps: each a function ``(container, now) -> SweepReport`` over what is due in the database.

Nothing here is scheduled per bill: every deadline lives on a row (``bills.due_at``,
``visits.opened_at``), so a sweep after a restart finds everything that fell due while the
scheduler was down. Each batch is its own transaction; on PostgreSQL batches are taken with
``FOR UPDATE SKIP LOCKED``, so two sweeps share the work instead of queueing on it. The
``scheduled_actions`` row inserted with the effect makes each action happen once per bill and kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from settlement.access.hospitals import get_hospital
from settlement.access.nonces import purge_expired_nonces
from settlement.access.otp import purge_expired_codes
from settlement.access.rate_limits import purge_expired_counters
from settlement.adapters.wallet_tables import PROVIDERS
from settlement.billing import bill_states
from settlement.billing.credit_tables import AgreementSignatureRow
from settlement.billing.payment_tables import purge_refused_callbacks
from settlement.billing.tables import Bill, Visit
from settlement.foundation.db import skip_locked
from settlement.foundation.errors import ServiceError
from settlement.foundation.idempotency import purge_expired_keys
from settlement.messages.dispatcher import dispatch_outbox
from settlement.messages.outbox import purge_sent_messages
from settlement.scheduler.actions import claim_actions
from settlement.scheduler.reports import SweepReport
from settlement.scheduler.tables import FAILED, SKIPPED, ScheduledAction
from settlement.scheduler.wallet_orders import sweep_pending_orders
from settlement.usecases.notices import notify_bills
from settlement.usecases.overdue import (
    DUE_BILL_COLUMNS,
    DueBill,
    due_bill,
    escalate_overdue,
    mark_overdue,
)
from settlement.usecases.paying.payments import start_payment, wallet_for

if TYPE_CHECKING:
    from settlement.bootstrap import Container

logger = logging.getLogger("shuxin.scheduler")

#: Bills per batch transaction. Bigger batches mean fewer round trips and commits; but the overdue
#: sweep takes one advisory lock per patient in a batch, and PostgreSQL's lock table holds
#: ``max_locks_per_transaction`` (64) × ``max_connections`` (100) locks in all: keep
#: ``BATCH_SIZE × OVERDUE_WORKERS`` well below that.
BATCH_SIZE = 2000
AUTOPAY = "autopay"
OVERDUE = "overdue"
ESCALATE = "escalate"
REMIND_CLOSE = "remind_close"


Sweep = Callable[["Container", datetime], SweepReport]


def _not_done(kind: str) -> Any:
    return ~exists().where(ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == kind)


def _batch(session: Session, query: Any) -> list[DueBill]:
    locked = skip_locked(session, query.limit(BATCH_SIZE), Bill)
    return [due_bill(row) for row in session.execute(locked).all()]


def _by_due_at(session: Session, query: Any) -> list[DueBill]:
    """A locked batch of ``query`` taken in ``due_at`` order, listed by ``(due_at, bill_id)``.

    The database orders by ``due_at`` alone, which ``ix_bills_status_due_at`` gives without a
    sort: ordering by ``bill_id`` too would sort every due bill for each batch (a hundred
    thousand bills due at one moment, sorted again per batch). Ties are ordered here instead.
    """
    batch = _batch(session, query.order_by(Bill.due_at))
    batch.sort(key=lambda bill: (bill.due_at, bill.bill_id))
    return batch


# -- reminders -----------------------------------------------------------------------------------


def reminder_kinds(container: Container) -> list[tuple[str, timedelta]]:
    """(kind, how long before ``due_at`` it is due), the latest first."""
    scheme = container.scheme
    kinds = [(f"remind_{int(b.total_seconds() // 3600)}h", b) for b in scheme.remind_before]
    kinds.sort(key=lambda pair: pair[1])
    if scheme.remind_at_close:
        kinds.append((REMIND_CLOSE, scheme.window))
    return kinds


def sweep_reminders(container: Container, now: datetime) -> SweepReport:
    """Remind unpaid bills at close and N hours before the deadline (policy), once each.

    Only the latest reminder due is sent: after downtime a bill 1 h from its deadline gets the
    2-hour reminder, and the earlier ones are recorded as skipped.
    """
    report = SweepReport("reminders")
    kinds = reminder_kinds(container)
    for position, (kind, before) in enumerate(kinds):
        superseded = [earlier for earlier, _ in kinds[position + 1 :]]
        while True:
            with container.uow() as uow:
                session = uow.session
                query = select(*DUE_BILL_COLUMNS).where(
                    Bill.status == bill_states.BILLED,
                    Bill.due_at > now,
                    Bill.due_at <= now + before,
                    _not_done(kind),
                )
                batch = _by_due_at(session, query)
                if not batch:
                    break
                claimed = claim_actions(
                    session, bill_ids=[b.bill_id for b in batch], kind=kind, now=now
                )
                bills = [b for b in batch if b.bill_id in claimed]
                for earlier in superseded:
                    claim_actions(session, bill_ids=claimed, kind=earlier, now=now, outcome=SKIPPED)
                template = REMIND_CLOSE if kind == REMIND_CLOSE else "remind_before"
                extra = (
                    {} if kind == REMIND_CLOSE else {"hours": int(before.total_seconds()) // 3600}
                )
                notify_bills(
                    session,
                    container=container,
                    bills=bills,
                    kind=kind,
                    template=template,
                    now=now,
                    **extra,
                )
                uow.commit()
            report.ids.extend(b.bill_id for b in bills)
            report.counts[kind] = report.counts.get(kind, 0) + len(bills)
            if bills:
                report.fell_due(min(b.due_at for b in bills) - before)
    return report


# -- overdue and escalation ----------------------------------------------------------------------


#: Transactions that share the overdue sweep on PostgreSQL (``SKIP LOCKED`` hands them different
#: batches). Two keep both the server and this process busy: while one batch's rows are computed
#: here, the other's are written. SQLite serialises writers, so it sweeps with one.
OVERDUE_WORKERS = 2


def sweep_overdue(container: Container, now: datetime) -> SweepReport:
    """Unpaid bills at ``due_at`` become overdue (line frozen, people told), once each.

    A bill with a payment in flight (``paying``) is left to its payment: if it fails, the bill is
    ``billed`` again and the next sweep makes it overdue. No bill is overdue in the sweep that made
    it: a visit that closed itself days ago and is swept only now is due the policy's minimum
    notice (24 h) from now (``close_visit``), and the reminder sweep, earlier in the same tick,
    has told its patient.
    """
    workers = OVERDUE_WORKERS if container.engine.dialect.name == "postgresql" else 1
    if workers == 1:
        done = _overdue_batches(container, now)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="overdue-sweep") as pool:
            shares = list(pool.map(lambda _: _overdue_batches(container, now), range(workers)))
        done = [bill for share in shares for bill in share]
    done.sort(key=lambda bill: (bill.due_at, bill.bill_id))
    report = SweepReport(OVERDUE, ids=[bill.bill_id for bill in done])
    if done:
        report.fell_due(done[0].due_at)
    return report


def _overdue_batches(container: Container, now: datetime) -> list[DueBill]:
    """One worker's part of :func:`sweep_overdue`: batches until none is left to take."""
    done: list[DueBill] = []
    while True:
        with container.uow() as uow:
            session = uow.session
            query = select(*DUE_BILL_COLUMNS).where(
                Bill.status == bill_states.BILLED, Bill.due_at <= now
            )
            batch = _by_due_at(session, query)
            if not batch:
                return done
            claimed = claim_actions(
                session, bill_ids=[b.bill_id for b in batch], kind=OVERDUE, now=now
            )
            bills = [b for b in batch if b.bill_id in claimed]
            mark_overdue(session, container=container, bills=bills, now=now)
            uow.commit()
        done.extend(bills)


def sweep_escalation(container: Container, now: datetime) -> SweepReport:
    """Bills overdue for N days (policy) are reported to the credit platform, once each."""
    report = SweepReport(ESCALATE)
    after = container.scheme.escalate_after
    while True:
        with container.uow() as uow:
            session = uow.session
            query = (
                select(*DUE_BILL_COLUMNS)
                .where(
                    Bill.status.in_(bill_states.OVERDUE_UNPAID),
                    Bill.overdue_at <= now - after,
                    _not_done(ESCALATE),
                )
                .order_by(Bill.overdue_at, Bill.bill_id)
            )
            batch = _batch(session, query)
            if not batch:
                return report
            claimed = claim_actions(
                session, bill_ids=[b.bill_id for b in batch], kind=ESCALATE, now=now
            )
            bills = [b for b in batch if b.bill_id in claimed]
            ids = escalate_overdue(
                session, container=container, bills=bills, now=now, days=after.days
            )
            uow.commit()
        report.ids.extend(ids)
        for bill in bills:
            if bill.overdue_at is not None:
                report.fell_due(bill.overdue_at + after)


# -- auto-pay ------------------------------------------------------------------------------------


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


def autopay_candidates(container: Container, session: Session, now: datetime) -> list[DueBill]:
    """Unpaid bills whose patient chose ``on_close``, or ``before_deadline`` and it is time.

    One batch per tick: auto-pay is rare next to the bills it skips, and the next tick goes on.
    """

    def signed(choice: str) -> Any:
        return exists().where(
            AgreementSignatureRow.psn_no == Bill.psn_no,
            AgreementSignatureRow.revoked_at.is_(None),
            AgreementSignatureRow.autopay == choice,
        )

    lead = container.scheme.autopay_before
    query = (
        select(*DUE_BILL_COLUMNS)
        .where(
            Bill.status == bill_states.BILLED,
            Bill.due_at > now,
            or_(signed("on_close"), and_(signed("before_deadline"), Bill.due_at <= now + lead)),
            _not_done(AUTOPAY),
        )
        .order_by(Bill.due_at, Bill.bill_id)
        .limit(BATCH_SIZE)
    )
    bills = [due_bill(row) for row in session.execute(query).all()]
    # A patient may have signed several versions; the newest signature's choice counts.
    choice = _autopay_choice(session, {b.psn_no for b in bills})
    return [
        b
        for b in bills
        if choice.get(b.psn_no) == "on_close"
        or (choice.get(b.psn_no) == "before_deadline" and b.due_at - lead <= now)
    ]


def sweep_autopay(container: Container, now: datetime) -> SweepReport:
    """Start the withholding payment (无感支付) of bills whose patient authorised it, once each."""
    report = SweepReport(AUTOPAY)
    with container.uow() as uow:
        candidates = autopay_candidates(container, uow.session, now)
    for candidate in candidates:
        outcome = _autopay_one(container, candidate, now)
        report.counts[outcome] = report.counts.get(outcome, 0) + 1
        if outcome == "started":
            report.ids.append(candidate.bill_id)
    return report


def withholding_provider(container: Container, session: Session, psn_no: str) -> str | None:
    """The wallet provider holding the patient's withholding agreement, if any."""
    for provider in PROVIDERS:
        if wallet_for(container, session, provider).has_agreement(psn_no):
            return str(provider)
    return None


def _autopay_one(container: Container, bill: DueBill, now: datetime) -> str:
    with container.uow() as uow:
        session = uow.session
        locked = skip_locked(
            session,
            select(Bill.status).where(Bill.bill_id == bill.bill_id),
            Bill,
        )
        status = session.scalars(locked).first()
        if status != bill_states.BILLED:
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
                channel="autopay",
            )
            uow.commit()
            return "started"
        except ServiceError as error:
            failure = error.code
    # The payment was refused: record that it was tried, so it is not tried every minute.
    with container.uow() as uow:
        claim_actions(
            uow.session,
            bill_ids=[bill.bill_id],
            kind=AUTOPAY,
            now=now,
            outcome=FAILED,
            detail=failure,
        )
        uow.commit()
    logger.info("auto-pay of bill %s refused: %s", bill.bill_id, failure)
    return "failed"


# -- visits left open ----------------------------------------------------------------------------


def last_auto_close(container: Container, now: datetime) -> datetime:
    """The most recent local ``auto_close_at`` at or before ``now``."""
    zone = ZoneInfo(container.settings.timezone)
    local = now.astimezone(zone)
    at: time = container.scheme.auto_close_at
    moment = datetime.combine(local.date(), at, tzinfo=zone)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return moment


def end_of_visit_day(container: Container, opened_at: datetime) -> datetime:
    """When a visit opened at ``opened_at`` closed itself: the first local ``auto_close_at``
    after it, 23:59:00 of the day it was opened with the shipped policy (``seeds/scheme.toml``
    ``[visits]``, in ``settings.timezone``).

    The end of the day is the moment the policy names, not 23:59:59 and not the next midnight:
    it is when a sweep on time closes the visit, so a sweep that runs late (after downtime, a
    clock jump) stamps exactly what a timely one would have, and ``due_at`` does not depend on
    when the scheduler happened to run. The next midnight would be the next day's: the visit
    would read as closed the day after it took place and count among that day's bills closed.
    23:59:59 is a moment the policy never names, and later than a timely close.

    The day is the one the visit was opened with us (``opened_at``, from the service's clock),
    the same moment that makes the sweep pick the visit (``opened_at`` before the last
    ``auto_close_at``): so the end of its day is after it opened and never after now. The HIS's
    ``begntime`` is its own statement and may be backdated or ahead.
    """
    last = last_auto_close(container, opened_at)  # the one at or before it: the next is a day on
    following = last.date() + timedelta(days=1)
    return datetime.combine(
        following, container.scheme.auto_close_at, tzinfo=last.tzinfo
    ).astimezone(UTC)


def sweep_auto_close(container: Container, now: datetime) -> SweepReport:
    """Close visits left open past the end of their local day (``closed_by="auto"``).

    Each is stamped with the end of its day (:func:`end_of_visit_day`), not the sweep's time, so
    its bill is due 72 h after that; ``close_visit`` still gives a patient the policy's minimum
    notice when the sweep comes so late that the deadline has passed.
    """
    from settlement.usecases.charging.visits import close_visit

    report = SweepReport("auto_close")
    cutoff = last_auto_close(container, now)
    with container.uow() as uow:
        candidates = list(
            uow.session.execute(
                select(Visit.mdtrt_id, Visit.hospital_code, Visit.opened_at)
                .where(Visit.status == "open", Visit.opened_at < cutoff)
                .order_by(Visit.opened_at)
            )
        )
    for mdtrt_id, hospital_code, opened_at in candidates:
        end_of_day = end_of_visit_day(container, opened_at)
        with container.uow() as uow:
            session = uow.session
            query = skip_locked(
                session,
                select(Visit.mdtrt_id).where(Visit.mdtrt_id == mdtrt_id, Visit.status == "open"),
                Visit,
            )
            hospital = get_hospital(session, hospital_code)
            if session.scalars(query).first() is None or hospital is None:
                continue
            try:
                result = close_visit(
                    uow,
                    container=container,
                    hospital=hospital,
                    mdtrt_id=mdtrt_id,
                    closed_by="auto",
                    closed_at=end_of_day,
                )
            except ServiceError as error:
                logger.warning("visit %s not auto-closed: %s", mdtrt_id, error.code)
                continue
            uow.commit()
            report.ids.append(mdtrt_id)
            report.fell_due(end_of_day)
            report.counts.setdefault("bills", 0)
            report.counts["bills"] += 1 if result.bill is not None else 0
    return report


# -- expiry --------------------------------------------------------------------------------------


def sweep_expiry(container: Container, now: datetime) -> SweepReport:
    """Forget idempotency keys, nonces, login codes, rate counters, sent messages and refused
    callbacks past their retention."""
    kept_since = now - timedelta(days=container.settings.message_retention_days)
    with container.uow() as uow:
        counts = {
            "messages": purge_sent_messages(uow.session, before=kept_since),
            "refused_callbacks": purge_refused_callbacks(uow.session, before=kept_since),
            "idempotency_keys": purge_expired_keys(uow.session, now=now),
            "nonces": purge_expired_nonces(uow.session, now),
            "otp_codes": purge_expired_codes(uow.session, now),
            "rate_limit_counters": purge_expired_counters(uow.session, now),
        }
        uow.commit()
    return SweepReport("expiry", counts=counts)


def sweep_outbox(container: Container, now: datetime) -> SweepReport:
    """Send the pending messages."""
    result = dispatch_outbox(container, now)
    return SweepReport("messages", counts=result.as_dict())


#: In the order a tick runs them: close the day's visits first, so their bills get their
#: at-close reminder and auto-pay in the same tick; messages last, so they leave at once.
SWEEPS: tuple[tuple[str, Sweep], ...] = (
    ("auto_close", sweep_auto_close),
    ("autopay", sweep_autopay),
    ("wallet_orders", sweep_pending_orders),
    ("reminders", sweep_reminders),
    ("overdue", sweep_overdue),
    ("escalate", sweep_escalation),
    ("expiry", sweep_expiry),
    ("messages", sweep_outbox),
)
