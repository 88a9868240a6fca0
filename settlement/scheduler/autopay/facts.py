"""What the auto-pay sweep reads: a page of candidates and their patients' choices (two
statements a page), then, per bill under its lock, its status and the withholding agreement."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from settlement.adapters.wallet_tables import PROVIDERS
from settlement.adapters.wallets import WalletProvider
from settlement.billing import bill_states
from settlement.billing.credit_tables import AgreementSignatureRow
from settlement.billing.tables import Bill
from settlement.foundation.db import skip_locked
from settlement.scheduler.autopay.decide import BEFORE_DEADLINE, ON_CLOSE
from settlement.scheduler.tables import ScheduledAction
from settlement.usecases.overdue import DUE_BILL_COLUMNS, DueBill, due_bill

AUTOPAY = "autopay"
#: Bills read per page; every page is handled before the overdue sweep runs.
PAGE_SIZE = 2000

Key = tuple[datetime, str]


def _signed(choice: str) -> Any:
    return exists().where(
        AgreementSignatureRow.psn_no == Bill.psn_no,
        AgreementSignatureRow.revoked_at.is_(None),
        AgreementSignatureRow.autopay == choice,
    )


def candidate_page(
    session: Session, *, lead: timedelta, now: datetime, after: Key | None
) -> tuple[list[DueBill], Key | None]:
    """A page of unpaid bills, not yet tried, whose patient chose ``on_close`` in a signature in
    force, or ``before_deadline`` and it is time (or past it), in ``(due_at, bill_id)`` order
    after ``after``; and the key to read the next page from (``None``: this was the last).

    A patient may have signed several versions: :func:`autopay_choices` says which counts."""
    query = select(*DUE_BILL_COLUMNS).where(
        Bill.status == bill_states.BILLED,
        or_(_signed(ON_CLOSE), and_(_signed(BEFORE_DEADLINE), Bill.due_at <= now + lead)),
        ~exists().where(ScheduledAction.bill_id == Bill.bill_id, ScheduledAction.kind == AUTOPAY),
    )
    if after is not None:
        due_at, bill_id = after
        query = query.where(
            or_(Bill.due_at > due_at, and_(Bill.due_at == due_at, Bill.bill_id > bill_id))
        )
    rows = session.execute(query.order_by(Bill.due_at, Bill.bill_id).limit(PAGE_SIZE)).all()
    page = [due_bill(row) for row in rows]
    following = (page[-1].due_at, page[-1].bill_id) if len(page) == PAGE_SIZE else None
    return page, following


def autopay_choices(session: Session, psn_nos: Collection[str]) -> dict[str, str]:
    """Each patient's ``autopay`` in their newest signature still in force."""
    if not psn_nos:
        return {}
    rows = session.execute(
        select(AgreementSignatureRow.psn_no, AgreementSignatureRow.autopay)
        .where(
            AgreementSignatureRow.psn_no.in_(set(psn_nos)),
            AgreementSignatureRow.revoked_at.is_(None),
        )
        .order_by(AgreementSignatureRow.version, AgreementSignatureRow.id)
    ).all()
    return {psn_no: autopay for psn_no, autopay in rows}


def locked_status(session: Session, bill_id: str) -> str | None:
    """The bill's status, its row locked; ``None`` when another transaction holds it."""
    locked = skip_locked(session, select(Bill.status).where(Bill.bill_id == bill_id), Bill)
    return session.scalars(locked).first()


def withholding_provider(wallet: Callable[[str], WalletProvider], psn_no: str) -> str | None:
    """The first provider (in ``PROVIDERS`` order) holding the patient's withholding agreement;
    ``wallet(provider)``: the provider bound to the sweep's session."""
    for provider in PROVIDERS:
        if wallet(provider).has_agreement(psn_no):
            return str(provider)
    return None
