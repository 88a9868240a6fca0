"""The lists operators act on: overdue bills by age, failed deliveries, refused wallet callbacks,
hospitals and catalogue items, each searchable and paged. Nothing here writes.

A page is one ``LIMIT/OFFSET`` statement and one count; the overdue buckets are one grouped
statement. ``q`` searches the obvious columns (codes and ids, case-insensitively by prefix or
substring as noted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.catalogue import CatalogueItemRow
from settlement.billing.payment_tables import WalletCallbackLog
from settlement.billing.tables import Bill, BillEvent
from settlement.messages.tables import FAILED, OutboxMessage

#: Overdue age buckets by the day past the deadline a bill is in (the first day is day 1):
#: (name, the last day in it).
AGE_BUCKETS = (("1-7", 7), ("8-30", 30), ("31-90", 90), ("90+", None))
#: What a refused or dubious wallet callback was recorded as (the rest were applied or harmless).
CALLBACK_ANOMALIES = ("bad_signature", "malformed", "unknown_order", "amount_mismatch")
MAX_PAGE_SIZE = 200

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list: its rows, how many there are in all, and where this page starts."""

    rows: list[Row]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class PageRequest:
    """Which page (1-based) of how many rows, and the search text (empty: everything)."""

    page: int = 1
    size: int = 50
    q: str = ""

    def __post_init__(self) -> None:
        if self.page < 1 or not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ValueError(f"page from 1, size 1 to {MAX_PAGE_SIZE}")


def paged(session: Session, query: Any, request: PageRequest) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(request.size).offset((request.page - 1) * request.size))
    return list(rows), int(total or 0)


def search_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- overdue bills ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueBill:
    bill_id: str
    hospital_code: str
    psn_no: str
    status: str
    owed_fen: int
    due_at: datetime
    days_overdue: int
    #: Reported to the credit platform (an ``escalated`` event).
    escalated: bool


@dataclass(frozen=True)
class AgeBucket:
    name: str
    count: int
    owed_fen: int


def _age_bucket(now: datetime) -> Any:
    """The bucket of a bill's deadline, as a SQL ``CASE`` over ``due_at``."""
    # Day n past the deadline is an age in [n − 1, n) days, so "up to day n" is due_at > now − n.
    whens = [
        (Bill.due_at > now - timedelta(days=last), literal(name))
        for name, last in AGE_BUCKETS
        if last is not None
    ]
    return case(*whens, else_=literal(AGE_BUCKETS[-1][0]))


def days_overdue(due_at: datetime, now: datetime) -> int:
    """Which day past its deadline a bill is in (the first day is day 1)."""
    return (now - due_at) // timedelta(days=1) + 1


def overdue_buckets(
    session: Session, *, now: datetime, hospital_code: str | None = None
) -> list[AgeBucket]:
    """Bills overdue now, by how long past their deadline (one grouped statement)."""
    bucket = _age_bucket(now)
    query = select(bucket, func.count(), func.coalesce(func.sum(Bill.medfee_sumamt_fen), 0)).where(
        Bill.status.in_(bill_states.OVERDUE_UNPAID)
    )
    if hospital_code is not None:
        query = query.where(Bill.hospital_code == hospital_code)
    found = {name: (count, fen) for name, count, fen in session.execute(query.group_by(bucket))}
    return [
        AgeBucket(name, int(found.get(name, (0, 0))[0]), int(found.get(name, (0, 0))[1]))
        for name, _ in AGE_BUCKETS
    ]


def overdue_bills(
    session: Session,
    request: PageRequest,
    *,
    now: datetime,
    hospital_code: str | None = None,
    bucket: str | None = None,
) -> Page[OverdueBill]:
    """Overdue bills, longest overdue first; ``q`` matches a bill id or ``psn_no`` (substring)."""
    escalated = (
        select(BillEvent.id)
        .where(BillEvent.bill_id == Bill.bill_id, BillEvent.kind == "escalated")
        .exists()
    )
    query = select(
        Bill.bill_id, Bill.hospital_code, Bill.psn_no, Bill.status, Bill.medfee_sumamt_fen,
        Bill.due_at, escalated,
    ).where(Bill.status.in_(bill_states.OVERDUE_UNPAID))  # fmt: skip
    if hospital_code is not None:
        query = query.where(Bill.hospital_code == hospital_code)
    if bucket is not None:
        query = query.where(_age_bucket(now) == bucket)
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(Bill.bill_id.like(pattern, escape="\\"), Bill.psn_no.like(pattern, escape="\\"))
        )
    rows, total = paged(session, query.order_by(Bill.due_at, Bill.bill_id), request)
    bills = [
        OverdueBill(
            bill_id, code, psn_no, status, int(owed), due_at, days_overdue(due_at, now), bool(told)
        )
        for bill_id, code, psn_no, status, owed, due_at, told in rows
    ]
    return Page(bills, total, request.page, request.size)


# -- deliveries that failed, wallet callbacks refused --------------------------------------------


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    kind: str
    channel: str
    psn_no: str
    bill_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime


def failed_deliveries(session: Session, request: PageRequest) -> Page[FailedDelivery]:
    """Outbox messages that gave up, newest first; ``q`` matches ``psn_no``, bill or kind."""
    message = OutboxMessage
    query = select(
        message.id, message.kind, message.channel, message.psn_no, message.bill_id,
        message.attempts, message.last_error, message.created_at,
    ).where(message.status == FAILED)  # fmt: skip
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(
                message.psn_no.like(pattern, escape="\\"),
                message.bill_id.like(pattern, escape="\\"),
                message.kind.like(pattern, escape="\\"),
            )
        )
    rows, total = paged(session, query.order_by(message.id.desc()), request)
    return Page([FailedDelivery(*row) for row in rows], total, request.page, request.size)


@dataclass(frozen=True)
class CallbackAnomaly:
    id: int
    provider: str
    order_id: str | None
    outcome: str
    amount: str | None
    detail: str
    received_at: datetime


def callback_anomalies(session: Session, request: PageRequest) -> Page[CallbackAnomaly]:
    """Wallet callbacks refused (bad signature, malformed, unknown order, wrong amount), newest
    first; ``q`` matches the order id or the outcome."""
    log = WalletCallbackLog
    query = select(
        log.id, log.provider, log.order_id, log.outcome, log.amount, log.detail, log.received_at
    ).where(log.outcome.in_(CALLBACK_ANOMALIES))
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(log.order_id.like(pattern, escape="\\"), log.outcome.like(pattern, escape="\\"))
        )
    rows, total = paged(session, query.order_by(log.id.desc()), request)
    return Page([CallbackAnomaly(*row) for row in rows], total, request.page, request.size)


# -- hospitals and the catalogue ------------------------------------------------------------------


@dataclass(frozen=True)
class HospitalRow:
    code: str
    name: str
    level: int
    secret_version: int
    created_at: datetime
    rotated_at: datetime | None


def hospitals(session: Session, request: PageRequest) -> Page[HospitalRow]:
    """Hospitals by code; ``q`` matches the code or the name (substring). No secret is read."""
    query = select(
        Hospital.code, Hospital.name, Hospital.level, Hospital.secret_version,
        Hospital.created_at, Hospital.rotated_at,
    )  # fmt: skip
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(Hospital.code.like(pattern, escape="\\"), Hospital.name.like(pattern, escape="\\"))
        )
    rows, total = paged(session, query.order_by(Hospital.code), request)
    return Page([HospitalRow(*row) for row in rows], total, request.page, request.size)


@dataclass(frozen=True)
class CatalogueEntry:
    med_list_codg: str
    item_name: str
    chrgitm_lv: str
    selfpay_prop: Decimal | None
    pric_uplmt_amt: Decimal | None
    category: str
    updated_at: datetime


def catalogue_items(session: Session, request: PageRequest) -> Page[CatalogueEntry]:
    """Catalogue items by code; ``q`` matches the code, the name or the category (substring)."""
    item = CatalogueItemRow
    query = select(
        item.med_list_codg, item.item_name, item.chrgitm_lv, item.selfpay_prop,
        item.pric_uplmt_amt, item.category, item.updated_at,
    )  # fmt: skip
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(
                item.med_list_codg.like(pattern, escape="\\"),
                item.item_name.like(pattern, escape="\\"),
                item.category.like(pattern, escape="\\"),
            )
        )
    rows, total = paged(session, query.order_by(item.med_list_codg), request)
    return Page([CatalogueEntry(*row) for row in rows], total, request.page, request.size)


def hospital_names(session: Session) -> Sequence[tuple[str, str]]:
    """Every hospital's code and name, by code (for the console's hospital picker)."""
    rows = session.execute(select(Hospital.code, Hospital.name).order_by(Hospital.code))
    return [(code, name) for code, name in rows]
