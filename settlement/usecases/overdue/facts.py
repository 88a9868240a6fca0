"""What the overdue sweep reads before deciding: a few set-based statements per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, and_, func, select, text
from sqlalchemy.orm import Session

from settlement.billing.credit_records import to_decision
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.billing.repayment import BillRecord
from settlement.billing.tables import Bill
from settlement.foundation.db import advisory_key, among
from settlement.foundation.lists import text_array
from settlement.usecases.overdue.decide import DueBill, LatestDecision

DECISIONS = cast(Table, CreditDecisionRow.__table__)

DUE_BILL_COLUMNS = (
    Bill.bill_id,
    Bill.psn_no,
    Bill.hospital_code,
    Bill.status,
    # What the patient owes: the bill less the pooled fund's share settled at close (visit_end).
    (Bill.medfee_sumamt_fen - Bill.fund_settled_fen).label("amount_fen"),
    Bill.closed_at,
    Bill.due_at,
    Bill.overdue_at,
)

#: What ``to_decision`` reads, and the ``seq`` the next decision follows.
DECISION_READ = (
    "psn_no",
    "seq",
    "status",
    "line_fen",
    "score",
    "reasons",
    "inputs",
    "scorecard_version",
    "event",
    "suspended_until",
    "overdue_unpaid",
    "as_of",
)


def due_bill(row: Any) -> DueBill:
    """A row of :data:`DUE_BILL_COLUMNS` as a :class:`DueBill` (and ``awaiting_insurance``
    when the row has it after them, as the overdue sweep reads it)."""
    bill_id, psn_no, hospital_code, status, amount_fen, closed_at, due_at, overdue_at, *more = row
    return DueBill(
        bill_id,
        psn_no,
        hospital_code,
        status,
        amount_fen,
        closed_at,
        due_at,
        overdue_at,
        bool(more[0]) if more else False,
    )


#: ``CreditRepository.lock_patient``'s keys (``credit:{psn_no}``), each patient's in turn.
_CREDIT_KEY = "'credit:' || k"
_LOCK_CREDITS = text(
    f"SELECT pg_advisory_xact_lock({advisory_key(_CREDIT_KEY)}) "  # noqa: S608 - constants only
    "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"
)


def lock_patients(session: Session, patients: Sequence[str]) -> None:
    """The credit locks ``CreditRepository.lock_patient`` takes, in one sorted pass (no
    deadlock); SQLite serialises writers and needs none."""
    if patients and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_CREDITS, {"keys": text_array(sorted(patients))})


def latest_decisions(session: Session, patients: Sequence[str]) -> dict[str, LatestDecision]:
    """Each patient's latest credit decision, in one statement.

    Plain rows, not ORM objects: identity-mapping thousands of decisions costs more than the rest
    of the batch. They carry the same attributes, which is all ``to_decision`` reads.
    """
    latest_seq = (
        select(DECISIONS.c.psn_no, func.max(DECISIONS.c.seq).label("seq"))
        .where(among(session, DECISIONS.c.psn_no, patients))
        .group_by(DECISIONS.c.psn_no)
        .subquery()
    )
    rows = session.execute(
        select(*(DECISIONS.c[name] for name in DECISION_READ)).join(
            latest_seq,
            and_(DECISIONS.c.psn_no == latest_seq.c.psn_no, DECISIONS.c.seq == latest_seq.c.seq),
        )
    ).all()
    return {row.psn_no: LatestDecision(to_decision(row), row.seq) for row in rows}


def bill_records(session: Session, patients: Sequence[str]) -> dict[str, dict[str, BillRecord]]:
    """Each patient's bills as the repayment history reads them, by ``bill_id``."""
    records: dict[str, dict[str, BillRecord]] = {psn_no: {} for psn_no in patients}
    for bill_id, psn_no, status, due_at, settled_at, overdue_at in session.execute(
        select(
            Bill.bill_id, Bill.psn_no, Bill.status, Bill.due_at, Bill.settled_at, Bill.overdue_at
        ).where(among(session, Bill.psn_no, patients), Bill.billed_fen > 0)
    ):
        records[psn_no][bill_id] = (status, due_at, settled_at, overdue_at)
    return records
