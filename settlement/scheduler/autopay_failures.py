"""Auto-pay (无感支付) that did not go through, for the operators' list.

Two ways it fails: the sweep could not start the payment (recorded as the ``autopay`` action's
``failed`` outcome, with the refusal's code), or the wallet declined a payment it started (the
auto-pay settlement was voided). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, or_, select, union_all
from sqlalchemy.orm import Session

from settlement.billing.payment_tables import BillSettlement
from settlement.billing.tables import Bill
from settlement.scheduler.tables import FAILED, ScheduledAction
from settlement.usecases.reporting.worklists import Page, PageRequest, paged, search_pattern

AUTOPAY = "autopay"


@dataclass(frozen=True)
class AutopayFailure:
    bill_id: str
    hospital_code: str
    psn_no: str
    #: ``not_started`` (refused before any money moved) or ``declined`` (by the wallet).
    stage: str
    detail: str
    at: datetime


def autopay_failures(
    session: Session, request: PageRequest, *, hospital_code: str | None = None
) -> Page[AutopayFailure]:
    """Auto-pay that failed, newest first; ``q`` matches the bill id or ``psn_no``."""
    refused = (
        select(
            Bill.bill_id.label("bill_id"),
            Bill.hospital_code.label("hospital_code"),
            Bill.psn_no.label("psn_no"),
            literal("not_started").label("stage"),
            ScheduledAction.detail.label("detail"),
            ScheduledAction.done_at.label("at"),
        )
        .join(Bill, Bill.bill_id == ScheduledAction.bill_id)
        .where(ScheduledAction.kind == AUTOPAY, ScheduledAction.outcome == FAILED)
    )
    declined = (
        select(
            Bill.bill_id,
            Bill.hospital_code,
            Bill.psn_no,
            literal("declined"),
            BillSettlement.provider,
            BillSettlement.voided_at,
        )
        .join(Bill, Bill.bill_id == BillSettlement.bill_id)
        .where(BillSettlement.channel == AUTOPAY, BillSettlement.status == "voided")
    )
    both = union_all(refused, declined).subquery()
    query = select(both)
    if hospital_code is not None:
        query = query.where(both.c.hospital_code == hospital_code)
    if request.q:
        pattern = search_pattern(request.q)
        query = query.where(
            or_(both.c.bill_id.like(pattern, escape="\\"), both.c.psn_no.like(pattern, escape="\\"))
        )
    rows, total = paged(session, query.order_by(both.c.at.desc(), both.c.bill_id), request)
    failures = [
        AutopayFailure(bill_id, code, psn_no, stage, detail or "", at)
        for bill_id, code, psn_no, stage, detail, at in rows
    ]
    return Page(failures, total, request.page, request.size)
