"""What the screens show, built from the API's answers: bills with their split, the profile."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from markupsafe import Markup, escape
from sqlalchemy import select

from credit.identity import mask_certno, mask_phone
from insurance.money import format_amount, parse_amount
from settlement.billing import bill_states
from settlement.bootstrap import Container

# The bill states, said once (settlement.billing.bill_states); the page polls while IN_PAYMENT.
PAYABLE = bill_states.PAYABLE
PENDING = bill_states.IN_PAYMENT
OVERDUE = bill_states.OVERDUE_UNPAID
SETTLED = bill_states.PAID
#: Messages the patient does not need to read again.
HIDDEN_MESSAGE_KINDS = ("login_code",)
MESSAGES_SHOWN = 50
LIST_MARK = re.compile(r"^(\d+\.|[-*])\s+")


class Speaker(Protocol):
    lang: str

    def t(self, key: str, **values: object) -> str: ...

    def time(self, value: object) -> str: ...


@dataclass(frozen=True)
class Profile:
    """Who is logged in, with the ID number and phone masked (never shown whole)."""

    psn_no: str
    name: str
    certno_masked: str
    phone_masked: str


def load_profile(container: Container, psn_no: str) -> Profile:
    with container.uow() as uow:
        person = container.insurance_platform(uow.session).lookup_person(psn_no)
    if person is None:
        return Profile(psn_no=psn_no, name="", certno_masked="", phone_masked="")
    return Profile(
        psn_no=psn_no,
        name=person.psn_name,
        certno_masked=mask_certno(person.certno),
        phone_masked=mask_phone(person.phone),
    )


@dataclass(frozen=True)
class SplitRow:
    key: str
    label: str
    amount: str


def split_rows(setlinfo: dict[str, Any], speaker: Speaker) -> list[SplitRow]:
    """Pooled fund, personal account (own), family mutual aid and wallet: they add up to the bill.

    ``acct_mulaid_pay`` is a part of ``acct_pay`` (domain.md §2), so the patient's own account
    share is the difference, computed exactly in Decimal.
    """
    acct = parse_amount(setlinfo.get("acct_pay", "0.00"), name="acct_pay")
    mulaid = parse_amount(setlinfo.get("acct_mulaid_pay", "0.00"), name="acct_mulaid_pay")
    rows = [
        ("pooled_fund", str(setlinfo.get("hifp_pay", "0.00"))),
        ("personal_account", format_amount(acct - mulaid)),
        ("mutual_aid", format_amount(mulaid)),
        ("wallet", str(setlinfo.get("psn_cash_pay", "0.00"))),
    ]
    return [SplitRow(key, speaker.t(key), f"¥{amount}") for key, amount in rows]


def bill_view(bill: dict[str, Any], speaker: Speaker) -> dict[str, Any]:
    """A bill from ``/v1/me/bills`` or ``/v1/bills/{id}`` as the templates show it."""
    status = str(bill["status"])
    settled = bill.get("setlinfo")
    setlinfo = settled if isinstance(settled, dict) else bill.get("estimate") or {}
    fees = [
        {
            "name": fee.get("item_name", ""),
            "cnt": fee.get("cnt", ""),
            "amount": f"¥{fee.get('det_item_fee_sumamt', '')}",
            "class_label": speaker.t(f"class_{fee.get('chrgitm_lv', 'C')}"),
            "refunded": fee.get("status") == "refunded",
        }
        for fee in bill.get("fees", [])
    ]
    return {
        "id": bill["bill_id"],
        "hospital": bill.get("hospital_name", ""),
        "status": status,
        "status_label": speaker.t(f"bill_{status}"),
        "overdue": status in OVERDUE,
        "pending": status in PENDING,
        "settled": status in SETTLED,
        "payable": status in PAYABLE,
        "total": f"¥{bill.get('medfee_sumamt', '')}",
        "you_pay": f"¥{setlinfo.get('psn_cash_pay', '0.00')}",
        "cash": str(setlinfo.get("psn_cash_pay", "0.00")),
        "due_iso": bill.get("due_at", ""),
        "due": speaker.time(bill.get("due_at")),
        "closed": speaker.time(bill.get("closed_at")),
        "settled_at": speaker.time(bill.get("settled_at")),
        "dept": bill.get("dept_name", ""),
        "doctor": bill.get("dr_name", ""),
        "begntime": speaker.time(bill.get("begntime")),
        "fees": fees,
        "split": split_rows(setlinfo, speaker) if setlinfo else [],
        "split_final": isinstance(settled, dict),
        "deductible": f"¥{setlinfo.get('act_pay_dedc', '0.00')}",
        "balance_after": f"¥{setlinfo.get('balc', '0.00')}",
        "events": bill.get("events", []),
    }


def load_messages(container: Container, psn_no: str) -> list[dict[str, str]]:
    """The reminders and notices sent to this person (newest first), from the outbox."""
    from settlement.messages.tables import OutboxMessage

    with container.uow() as uow:
        rows = uow.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.psn_no == psn_no,
                OutboxMessage.kind.not_in(HIDDEN_MESSAGE_KINDS),
            )
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(MESSAGES_SHOWN)
        ).all()
        return [
            {
                "kind": row.kind,
                "channel": row.channel,
                "body": row.body,
                "bill_id": row.bill_id or "",
                "at": row.created_at.isoformat(),
            }
            for row in rows
        ]


def agreement_html(text: str) -> Markup:
    """The agreement's Markdown as simple HTML: headings, numbered or bulleted lines, paragraphs.

    Every piece of text is escaped; only the structure is ours.
    """
    parts: list[str] = []
    for block in text.strip().split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        heading = re.match(r"^(#{1,3})\s+(.*)$", lines[0])
        if heading and len(lines) == 1:
            level = len(heading.group(1)) + 1
            parts.append(f"<h{level}>{escape(heading.group(2))}</h{level}>")
        elif all(LIST_MARK.match(line) for line in lines):
            items = "".join(f"<li>{escape(LIST_MARK.sub('', line))}</li>" for line in lines)
            tag = "ol" if lines[0][0].isdigit() else "ul"
            parts.append(f"<{tag}>{items}</{tag}>")
        else:
            parts.append("<p>" + "<br>".join(str(escape(line)) for line in lines) + "</p>")
    return Markup("\n".join(parts))  # noqa: S704 - every text piece above is escaped
