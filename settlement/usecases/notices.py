"""Bill notices (reminders, overdue, escalation) rendered and queued in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from settlement.messages.outbox import enqueue_rows, outbox_row
from settlement.messages.tables import PUSH, SMS
from settlement.messages.templates import render_bill_notice
from settlement.usecases import recipients

if TYPE_CHECKING:
    from settlement.bootstrap import Container

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


def notify_bills(
    session: Session,
    *,
    container: Container,
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
