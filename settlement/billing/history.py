"""A patient's repayment record (``RepaymentHistory``) computed from their bills.

The credit rules read it when an event is recorded; it is derived, never stored, so it cannot
drift from the bills:

- a bill counts once it has something to pay (``billed_fen > 0``);
- *on time*: settled and never overdue; *late*: settled after going overdue (days late counted
  in whole days after ``due_at``);
- *overdue unpaid*: overdue now (``overdue`` or ``paying_late``);
- the on-time streak counts on-time settlements after the latest moment a bill went overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, and_, bindparam, select
from sqlalchemy.orm import Session

from credit.decision import RepaymentHistory
from settlement.billing.credit_line import CreditLineRow
from settlement.billing.credit_records import DECISION_COLUMNS
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.billing.family_tables import ACTIVE, FamilyLink
from settlement.billing.repayment import YEAR, BillRecord, history_of
from settlement.billing.tables import Bill
from settlement.foundation.db import among, execute_on_connection

__all__ = [
    "YEAR",
    "BillRecord",
    "DecisionFacts",
    "decision_facts",
    "history_of",
    "repayment_histories",
    "repayment_history",
]


def repayment_history(session: Session, *, psn_no: str, now: datetime) -> RepaymentHistory:
    """This scheme's record of ``psn_no``'s bills as of ``now`` (see the module docstring)."""
    return repayment_histories(session, [psn_no], now=now)[psn_no]


def repayment_histories(
    session: Session, psn_nos: Iterable[str], *, now: datetime
) -> dict[str, RepaymentHistory]:
    """:func:`repayment_history` for many patients in one query (the overdue sweep's batches)."""
    wanted = sorted(set(psn_nos))
    rows: dict[str, list[BillRecord]] = {psn_no: [] for psn_no in wanted}
    for psn_no, status, due_at, settled_at, overdue_at in session.execute(
        select(Bill.psn_no, Bill.status, Bill.due_at, Bill.settled_at, Bill.overdue_at).where(
            among(session, Bill.psn_no, wanted), Bill.billed_fen > 0
        )
    ):
        rows[psn_no].append((status, due_at, settled_at, overdue_at))
    return {psn_no: history_of(bills, now) for psn_no, bills in rows.items()}


@dataclass(frozen=True)
class DecisionFacts:
    """What a credit event of a patient reads: the latest decision (a row of
    ``DECISION_COLUMNS`` and its ``seq``), the repayment history, the ledger's grant of their
    line, locked until commit (``None``: no line yet), and their active family managers, oldest
    link first (who hears of the event: ``settlement.usecases.recipients``)."""

    latest: Row[Any]
    history: RepaymentHistory
    granted_fen: int | None
    managers: list[str]


def _decision_facts_query() -> Any:
    psn_no = bindparam("psn_no", type_=String(40))
    latest = (
        select(CreditDecisionRow.id)
        .where(CreditDecisionRow.psn_no == psn_no)
        .order_by(CreditDecisionRow.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    # The line's row locked in a subquery (PostgreSQL; SQLite serialises writers already): the
    # decision, then the line, as sync_line took them in a statement after.
    granted = (
        select(CreditLineRow.granted_fen)
        .where(CreditLineRow.psn_no == psn_no)
        .with_for_update()
        .scalar_subquery()
    )
    return (
        select(
            *DECISION_COLUMNS,
            CreditDecisionRow.seq,
            granted.label("granted_fen"),
            Bill.bill_id,
            Bill.status.label("bill_status"),
            Bill.due_at,
            Bill.settled_at,
            Bill.overdue_at,
            FamilyLink.link_id,
            FamilyLink.manager_psn_no,
            FamilyLink.accepted_at,
        )
        .select_from(CreditDecisionRow)
        .outerjoin(Bill, and_(Bill.psn_no == CreditDecisionRow.psn_no, Bill.billed_fen > 0))
        .outerjoin(
            FamilyLink,
            and_(
                FamilyLink.relative_psn_no == CreditDecisionRow.psn_no, FamilyLink.status == ACTIVE
            ),
        )
        .where(CreditDecisionRow.id == latest)
    )


#: Built once (its cache key memoised on it): every settled payment reads it.
_DECISION_FACTS = _decision_facts_query()


def decision_facts(session: Session, *, psn_no: str, now: datetime) -> DecisionFacts | None:
    """:class:`DecisionFacts` of ``psn_no`` in one statement (the decision joined to each of their
    bills and active family links: its columns repeat, a patient has a few of each); ``None``
    if there never was a decision. Read under the patient's credit lock."""
    rows = execute_on_connection(session, _DECISION_FACTS, {"psn_no": psn_no}).all()
    if not rows:
        return None
    bills: dict[str, BillRecord] = {}
    links: dict[str, tuple[Any, str]] = {}
    for row in rows:
        if row.bill_id is not None:  # the decision's row with no bill joined
            bills[row.bill_id] = (row.bill_status, row.due_at, row.settled_at, row.overdue_at)
        if row.link_id is not None:
            links[row.link_id] = (row.accepted_at, row.manager_psn_no)
    # As ``managers_by_relative``'s ``ORDER BY accepted_at, link_id`` (PostgreSQL: nulls last).
    ordered = sorted(links, key=lambda link: (links[link][0] is None, links[link][0], link))
    return DecisionFacts(
        latest=rows[0],
        history=history_of(list(bills.values()), now),
        granted_fen=rows[0].granted_fen,
        managers=[links[link][1] for link in ordered],
    )
