"""Read-side queries over bills: a patient's list, and one bill with its lines and events.

Nothing here writes. A patient only ever reaches their own bills: another person's bill is
``not_found``, so the answer does not reveal that it exists. Each bill comes with the settlement
that stands (:func:`standing_settlement`), read as it was stored, never split again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital
from settlement.billing.payment_tables import BillSettlement
from settlement.billing.tables import Bill, BillEvent, FeeLine, Visit
from settlement.foundation.errors import ServiceError

#: Lines that belong to a bill: billed at close, possibly refunded since (cancelled lines never).
BILL_LINE_STATUSES = ("billed", "refunded")

#: The settlement that stands for a bill: its posted one. A bill has at most one (a partial
#: unique index allows one pending or posted settlement per bill), so the outer join below never
#: repeats a bill. After a refund after settlement the first settlement is ``reversed`` and its
#: re-settlement is the posted one; before payment, while a payment is ``pending``, for an empty
#: visit (settled at close with nothing to split) and after every line was refunded there is none.
_STANDING = and_(BillSettlement.bill_id == Bill.bill_id, BillSettlement.status == "posted")


@dataclass(frozen=True)
class BillView:
    """A bill with the name of its hospital, as a patient's list shows it."""

    bill: Bill
    hospital_name: str
    #: The settlement that stands, if any (see ``_STANDING``).
    settlement: BillSettlement | None = None


@dataclass(frozen=True)
class BillDetail:
    """One bill with its visit, its lines and its history (oldest event first)."""

    bill: Bill
    hospital_name: str
    visit: Visit
    lines: Sequence[FeeLine]
    events: Sequence[BillEvent]
    #: The settlement that stands, if any (see ``_STANDING``).
    settlement: BillSettlement | None = None


def patient_bills(session: Session, *, psn_no: str, status: str | None = None) -> list[BillView]:
    """The patient's bills, newest first, optionally only those in ``status``."""
    query = (
        select(Bill, Hospital.name, BillSettlement)
        .join(Hospital, Hospital.code == Bill.hospital_code)
        .outerjoin(BillSettlement, _STANDING)
        .where(Bill.psn_no == psn_no)
        .order_by(Bill.closed_at.desc(), Bill.bill_id.desc())
    )
    if status is not None:
        query = query.where(Bill.status == status)
    return [
        BillView(bill=bill, hospital_name=name, settlement=settlement)
        for bill, name, settlement in session.execute(query)
    ]


def patient_bill(session: Session, *, psn_no: str, bill_id: str) -> BillDetail:
    """The patient's own bill with its lines and events; anyone else's is ``not_found``."""
    return _bill_detail(session, bill_id, Bill.psn_no == psn_no, f"no bill {bill_id}")


def _bill_detail(
    session: Session, bill_id: str, owner: ColumnElement[bool], not_found: str
) -> BillDetail:
    row = session.execute(
        select(Bill, Hospital.name, BillSettlement)
        .join(Hospital, Hospital.code == Bill.hospital_code)
        .outerjoin(BillSettlement, _STANDING)
        .where(Bill.bill_id == bill_id, owner)
    ).first()
    if row is None:
        raise ServiceError("not_found", not_found)
    bill, hospital_name, settlement = row
    visit = session.get_one(Visit, bill.mdtrt_id)
    events = session.scalars(
        select(BillEvent).where(BillEvent.bill_id == bill_id).order_by(BillEvent.id)
    ).all()
    return BillDetail(
        bill=bill,
        hospital_name=hospital_name,
        visit=visit,
        lines=[line for line in visit.fees if line.status in BILL_LINE_STATUSES],
        events=events,
        settlement=settlement,
    )


def hospital_bill(session: Session, *, hospital_code: str, bill_id: str) -> BillDetail:
    """The hospital's own bill with its lines, events and standing settlement; another
    hospital's is ``not_found``."""
    return _bill_detail(
        session, bill_id, Bill.hospital_code == hospital_code, f"no bill {bill_id} at this hospital"
    )
