"""What the screens show, built from the API's answers: bills with their split, the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markupsafe import Markup
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


def paid_view(
    paid: dict[str, Any] | None, speaker: Speaker, *, viewer: str | None, names: dict[str, str]
) -> dict[str, str] | None:
    """What settled the bill, by whom and when (``paid`` of ``/v1/bills/{id}``); ``names`` are
    the family members' names as ``/v1/family/members`` shows them to ``viewer``."""
    if not paid:
        return None
    payer = str(paid.get("payer_psn_no", ""))
    if payer == viewer:
        by = speaker.t("paid_by_you")
    else:
        by = names.get(payer) or speaker.t("paid_by_family")
    wallet = paid.get("wallet")
    channel = str(paid.get("channel", "app"))
    how = speaker.t(f"channel_{channel}")
    return {
        "by": by,
        "at": speaker.time(paid.get("paid_at")),
        "how": how if how != f"channel_{channel}" else channel,
        "wallet_label": speaker.t("paid_wallet", wallet=speaker.t(wallet) if wallet else "—"),
        "wallet_amount": f"¥{paid.get('psn_cash_pay', '0.00')}",
        "account_amount": f"¥{paid.get('acct_pay', '0.00')}",
    }


def bill_view(
    bill: dict[str, Any],
    speaker: Speaker,
    *,
    viewer: str | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A bill from ``/v1/me/bills`` or ``/v1/bills/{id}`` as the templates show it."""
    status = str(bill["status"])
    settled = bill.get("setlinfo")
    # What paying now takes (for this payer), else what was taken, else the estimate at close.
    pay_now = bill.get("pay_now") if isinstance(bill.get("pay_now"), dict) else None
    setlinfo = (
        pay_now["setlinfo"]
        if pay_now is not None
        else settled
        if isinstance(settled, dict)
        else bill.get("estimate") or {}
    )
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
        "split_now": pay_now is not None,
        "split_version": pay_now.get("split_version", "") if pay_now is not None else "",
        "deductible": f"¥{setlinfo.get('act_pay_dedc', '0.00')}",
        "balance_after": f"¥{setlinfo.get('balc', '0.00')}",
        "events": bill.get("events", []),
        "paid": paid_view(bill.get("paid"), speaker, viewer=viewer, names=names or {}),
        "fund_at_close": speaker.t(
            "fund_at_close", amount=bill["fund_settled_amt"], owed=bill["credit_amt"]
        )
        if bill.get("settlement_mode") == "visit_end"
        else "",
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
                "body_en": row.body_en or "",
                "bill_id": row.bill_id or "",
                "at": row.created_at.isoformat(),
            }
            for row in rows
        ]


def _headings_below_the_page_title(state: StateCore) -> None:
    """The page's own ``<h1>`` is the agreement's title: the text's headings go one level down."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"


#: CommonMark with tables; raw HTML in the text is shown as text, never passed through.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_MARKDOWN.core.ruler.push("headings_below_the_page_title", _headings_below_the_page_title)
#: What the sanitiser keeps of the rendered HTML (defence in depth behind ``html: False``).
AGREEMENT_TAGS = frozenset(
    {
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "ol",
        "ul",
        "li",
        "strong",
        "em",
        "code",
        "pre",
        "blockquote",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)


def agreement_html(text: str) -> Markup:
    """The agreement's Markdown as HTML (markdown-it-py), sanitised with nh3: only the tags of
    :data:`AGREEMENT_TAGS`, links to https only, no attributes but ``href``."""
    rendered = _MARKDOWN.render(text)
    clean = nh3.clean(
        rendered,
        tags=set(AGREEMENT_TAGS),
        attributes={"a": {"href"}},
        url_schemes={"https"},
        link_rel="noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - rendered without raw HTML, then sanitised
