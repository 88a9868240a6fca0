"""Notices rendered and queued in the caller's transaction: about bills (reminders, overdue,
escalation) and about money that moved (a payment received, auto-pay taken or failed, a refund
returned, a line raised or unfrozen), to the patient and to their family managers.

Each is written in the transaction of the change it tells of, so it exists exactly when the
change was committed (``settlement.messages.outbox``). Links are absolute, from
``Settings.public_base_url``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.decision import Decision
from insurance.money import format_amount, from_fen, parse_amount
from settlement.billing.credit_records import CreditRepository
from settlement.billing.family_standing import frozen_by_family
from settlement.billing.family_tables import SharedHold
from settlement.billing.payment_tables import BillSettlement
from settlement.billing.tables import Bill
from settlement.foundation import writes
from settlement.foundation.config import Settings
from settlement.foundation.ports import InsurancePlatform
from settlement.foundation.writes import Write
from settlement.messages.outbox import OUTBOX, enqueue_rows, outbox_row
from settlement.messages.tables import PUSH, SMS
from settlement.messages.templates import (
    Rendered,
    bill_link,
    home_link,
    local_time,
    local_time_en,
    render_bill_notice,
    render_notice,
    sources_text,
)
from settlement.usecases import recipients

#: Every bill notice goes by SMS (the phone on file always works) and to the app.
BILL_CHANNELS = (SMS, PUSH)


class NoticeBill(Protocol):
    @property
    def bill_id(self) -> str: ...

    @property
    def psn_no(self) -> str: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def due_at(self) -> datetime: ...


class NoticesContext(Protocol):
    """What a notice needs of the process: the settings (time zone, public address) and the
    insurance platform (whom to tell); the process's ``Container`` is one."""

    @property
    def settings(self) -> Settings: ...

    @property
    def insurance_platform(self) -> Callable[[Session], InsurancePlatform]: ...


def notify_bills(
    session: Session,
    *,
    container: NoticesContext,
    bills: Sequence[NoticeBill],
    kind: str,
    template: str,
    now: datetime,
    **extra: object,
) -> int:
    """Queue ``template`` about each bill to each of its recipients; returns the rows queued."""
    timezone = container.settings.timezone
    who = recipients.recipients_for_bills(session, bills)
    names: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for bill in bills:
        for psn_no in who.get(bill.bill_id, [bill.psn_no]):
            relative = None
            if psn_no != bill.psn_no:
                if bill.psn_no not in names:
                    person = container.insurance_platform(session).lookup_person(bill.psn_no)
                    # A manager knows whom they look after: the relative's name in full.
                    names[bill.psn_no] = person.psn_name if person else ""
                relative = names[bill.psn_no]
            rendered = render_bill_notice(
                template,
                bill_id=bill.bill_id,
                amount=bill.amount,
                due_at=bill.due_at,
                timezone=timezone,
                relative_name=relative,
                base_url=container.settings.public_base_url,
                **extra,
            )
            rows.extend(
                outbox_row(
                    kind=kind,
                    psn_no=psn_no,
                    channel=channel,
                    rendered=rendered,
                    now=now,
                    bill_id=bill.bill_id,
                )
                for channel in BILL_CHANNELS
            )
    return enqueue_rows(session, rows)


# -- money that moved ------------------------------------------------------------------------------


class ReturnedMoney(Protocol):
    """What a refund after settlement gave back, by ``setlinfo`` part."""

    @property
    def hifp_pay(self) -> Decimal: ...

    @property
    def acct_pay(self) -> Decimal: ...

    @property
    def acct_mulaid_pay(self) -> Decimal: ...

    @property
    def psn_cash_pay(self) -> Decimal: ...


#: Settlement channels whose completion the patient did not see happen in front of them.
AUTOPAY_CHANNEL = "autopay"
#: A bill the insurance accounts cover entirely, settled when it was made (issue 16 item 4).
INSURANCE_CHANNEL = "insurance"
#: The notice each such channel sends; any other channel's is ``payment_received``.
SETTLED_NOTICES = {AUTOPAY_CHANNEL: "autopay_taken", INSURANCE_CHANNEL: "settled_by_insurance"}


def _send(
    session: Session,
    *,
    kind: str,
    psn_no: str,
    people: InsurancePlatform,
    render: Callable[[str | None], Rendered],
    now: datetime,
    bill_id: str | None = None,
    managers: list[str] | None = None,
    into: list[Write] | None = None,
) -> int:
    """Queue ``render(None)`` to the patient ``psn_no`` and ``render(name)`` to each of their
    managers, ``name`` being the patient's name in full (a manager knows whom they look after).
    ``managers``: the patient's, when the caller read them (else they are read here); ``into``:
    where the rows go as writes for the caller to send (:func:`_queue`)."""
    rows: list[dict[str, Any]] = []
    name: str | None = None
    everyone = (
        recipients.recipients_for_patient(session, psn_no)
        if managers is None
        else [psn_no, *managers]
    )
    for recipient in everyone:
        if recipient != psn_no and name is None:
            person = people.lookup_person(psn_no)
            name = person.psn_name if person is not None else ""
        rendered = render(None if recipient == psn_no else name)
        rows.extend(
            outbox_row(
                kind=kind,
                psn_no=recipient,
                channel=channel,
                rendered=rendered,
                now=now,
                bill_id=bill_id,
            )
            for channel in BILL_CHANNELS
        )
    return _queue(session, rows, into)


def _nothing() -> None:
    """An outbox row written: nothing in the session reads it back."""


def _queue(session: Session, rows: list[dict[str, Any]], into: list[Write] | None) -> int:
    """Queue outbox ``rows``: added to ``into`` as writes (the caller sends them with its own, in
    one statement) where several writes go as one (PostgreSQL); else inserted now, together."""
    if into is None or session.get_bind().dialect.name not in writes.COMBINED:
        return enqueue_rows(session, rows)
    into.extend(Write(OUTBOX, "insert", row, 1, _nothing, "insert outbox message") for row in rows)
    return len(rows)


def _paid_sources(setlinfo: dict[str, Any], provider: str | None) -> dict[str, Decimal]:
    def part(key: str) -> Decimal:
        return parse_amount(str(setlinfo.get(key, "0.00")), name=key)

    return {
        "hifp_pay": part("hifp_pay"),
        "acct_own_pay": part("acct_pay") - part("acct_mulaid_pay"),
        "acct_mulaid_pay": part("acct_mulaid_pay"),
        provider or "wallet": part("psn_cash_pay"),
    }


def payment_settled(
    session: Session,
    *,
    settings: Settings,
    people: InsurancePlatform,
    bill: Bill,
    record: BillSettlement,
    now: datetime,
    family_freezes: bool,
    managers: list[str] | None = None,
    into: list[Write] | None = None,
) -> int:
    """A bill settled by a payment: ``payment_received``, ``autopay_taken`` when withheld, or
    ``settled_by_insurance`` when the insurance accounts covered it at close; the sources it was
    paid from, each with its amount. An overdue bill that froze family managers' lines (where
    the scheme ``family_freezes`` them) also tells each manager whose line it unfreezes.
    ``managers``, ``into``: as :func:`_send` takes them."""
    if bill.overdue_at is not None and family_freezes:
        _family_freeze_lifted(session, settings=settings, bill=bill, now=now)
    kind = SETTLED_NOTICES.get(record.channel, "payment_received")
    sources = _paid_sources(record.setlinfo, record.provider)
    return _settled(
        session,
        settings=settings,
        people=people,
        bill=bill,
        kind=kind,
        now=now,
        sources=sources,
        managers=managers,
        into=into,
    )


def nothing_owed(
    session: Session, *, settings: Settings, people: InsurancePlatform, bill: Bill, now: datetime
) -> int:
    """A bill of 0.00 (every line cancelled, or none) closed settled: told as a bill the
    insurance accounts covered, with nothing taken from anyone."""
    return _settled(
        session,
        settings=settings,
        people=people,
        bill=bill,
        kind="settled_by_insurance",
        now=now,
        sources={},
    )


def _settled(
    session: Session,
    *,
    settings: Settings,
    people: InsurancePlatform,
    bill: Bill,
    kind: str,
    sources: dict[str, Decimal],
    now: datetime,
    managers: list[str] | None = None,
    into: list[Write] | None = None,
) -> int:
    zh, en = sources_text(sources)
    link = bill_link(bill.bill_id, settings.public_base_url)
    amount = format_amount(from_fen(bill.medfee_sumamt_fen))
    return _send(
        session,
        kind=kind,
        psn_no=bill.psn_no,
        people=people,
        render=lambda name: render_notice(
            kind,
            link=link,
            relative_name=name,
            values={"amount": amount, "sources": zh},
            values_en={"sources": en},
        ),
        now=now,
        bill_id=bill.bill_id,
        managers=managers,
        into=into,
    )


def _family_freeze_lifted(
    session: Session, *, settings: Settings, bill: Bill, now: datetime
) -> int:
    """``line_unfrozen`` to each manager whose line ``bill`` (a relative's) held and who is no
    longer frozen by any relative's bill (``settlement.billing.family_standing``)."""
    managers = session.scalars(
        select(SharedHold.manager_psn_no).where(SharedHold.mdtrt_id == bill.mdtrt_id).distinct()
    ).all()
    return family_freeze_lifted(session, settings=settings, managers=managers, now=now)


def family_freeze_lifted(
    session: Session, *, settings: Settings, managers: Iterable[str], now: datetime
) -> int:
    """``line_unfrozen`` to each of ``managers`` (whose lines a relative's overdue bill held)
    who is active and no longer frozen by any relative's bill: a payment of the bill, or a
    refund that took it off their line."""
    link = home_link(settings.public_base_url)
    rows: list[dict[str, Any]] = []
    for manager in sorted(set(managers)):
        decision = CreditRepository(session).latest_decision(manager)
        if decision is None or decision.status != "active" or frozen_by_family(session, manager):
            continue
        rendered = render_notice(
            "line_unfrozen", link=link, values={"after": format_amount(decision.line)}
        )
        rows.extend(
            outbox_row(
                kind="line_unfrozen", psn_no=manager, channel=channel, rendered=rendered, now=now
            )
            for channel in BILL_CHANNELS
        )
    return enqueue_rows(session, rows)


def payment_failed(
    session: Session,
    *,
    settings: Settings,
    people: InsurancePlatform,
    bill: Bill,
    record: BillSettlement,
    now: datetime,
) -> int:
    """A wallet that declined: told when it was auto-pay (a payment in the app shows its own
    failure on the page); nothing otherwise."""
    if record.channel != AUTOPAY_CHANNEL:
        return 0
    return autopay_failed(session, settings=settings, people=people, bill=bill, now=now)


def autopay_failed(
    session: Session, *, settings: Settings, people: InsurancePlatform, bill: Bill, now: datetime
) -> int:
    """Auto-pay did not go through (refused before it started, or declined by the wallet):
    pay by the deadline."""
    link = bill_link(bill.bill_id, settings.public_base_url)
    values = {
        "amount": format_amount(from_fen(bill.owed_fen)),
        "deadline": local_time(bill.due_at, settings.timezone),
    }
    return _send(
        session,
        kind="autopay_failed",
        psn_no=bill.psn_no,
        people=people,
        render=lambda name: render_notice(
            "autopay_failed",
            link=link,
            relative_name=name,
            values=values,
            values_en={"deadline": local_time_en(bill.due_at, settings.timezone)},
        ),
        now=now,
        bill_id=bill.bill_id,
    )


def refund_returned(
    session: Session,
    *,
    settings: Settings,
    people: InsurancePlatform,
    bill: Bill,
    refunded: Decimal,
    returned: ReturnedMoney,
    now: datetime,
) -> int:
    """A refund after settlement: how much went back to each source (fund, personal account,
    the relative's account for mutual aid, the wallet that paid)."""
    wallet = session.scalar(
        select(BillSettlement.provider)
        .where(BillSettlement.bill_id == bill.bill_id, BillSettlement.provider.is_not(None))
        .limit(1)
    )
    zh, en = sources_text(
        {
            "hifp_pay": returned.hifp_pay,
            "acct_own_pay": returned.acct_pay - returned.acct_mulaid_pay,
            "acct_mulaid_pay": returned.acct_mulaid_pay,
            wallet or "wallet": returned.psn_cash_pay,
        }
    )
    link = bill_link(bill.bill_id, settings.public_base_url)
    return _send(
        session,
        kind="refund_returned",
        psn_no=bill.psn_no,
        people=people,
        render=lambda name: render_notice(
            "refund_returned",
            link=link,
            relative_name=name,
            values={"refunded": format_amount(refunded), "sources": zh},
            values_en={"sources": en},
        ),
        now=now,
        bill_id=bill.bill_id,
    )


def line_kind(before: Decision, after: Decision) -> str | None:
    """``line_unfrozen`` when a frozen or suspended line is usable again, ``line_raised`` when an
    active line grew; ``None`` for every other change (freezes have notices of their own)."""
    if after.status != "active":
        return None
    if before.status in ("frozen", "suspended"):
        return "line_unfrozen"
    if before.status == "active" and after.line > before.line:
        return "line_raised"
    return None


def credit_moved(
    session: Session,
    *,
    settings: Settings,
    people: InsurancePlatform,
    psn_no: str,
    before: Decision,
    after: Decision,
    now: datetime,
    managers: list[str] | None = None,
    into: list[Write] | None = None,
) -> int:
    """Tell the patient and their managers that the line was raised or unfrozen (see
    :func:`line_kind`); nothing for other changes. ``managers``, ``into``: as :func:`_send`
    takes them."""
    kind = line_kind(before, after)
    if kind is None:
        return 0
    values = {"before": format_amount(before.line), "after": format_amount(after.line)}
    link = home_link(settings.public_base_url)
    return _send(
        session,
        kind=kind,
        psn_no=psn_no,
        people=people,
        render=lambda name: render_notice(kind, link=link, relative_name=name, values=values),
        now=now,
        managers=managers,
        into=into,
    )
