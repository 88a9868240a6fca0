"""Who hears about a bill: the patient, then the family managers who look after them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from settlement.billing.family_queries import managers_by_relative


class BillRef(Protocol):
    @property
    def bill_id(self) -> str: ...

    @property
    def psn_no(self) -> str: ...


def recipients_for_bill(session: Session, bill: BillRef) -> list[str]:
    """The ``psn_no`` of everyone told about ``bill``, the patient first.

    The patient's active family managers follow, oldest link first (``settlement.family``).
    """
    return [bill.psn_no, *managers_by_relative(session, [bill.psn_no]).get(bill.psn_no, [])]


def recipients_for_bills(session: Session, bills: Sequence[BillRef]) -> dict[str, list[str]]:
    """:func:`recipients_for_bill` for a batch, by bill id (one query per batch)."""
    managers = managers_by_relative(session, (bill.psn_no for bill in bills))
    return {bill.bill_id: [bill.psn_no, *managers.get(bill.psn_no, [])] for bill in bills}


def recipients_for_patient(session: Session, psn_no: str) -> list[str]:
    """Everyone told about ``psn_no``'s credit line: the patient, then their managers."""
    return [psn_no, *managers_by_relative(session, [psn_no]).get(psn_no, [])]
