"""Reads and appends of credit decisions and agreement signatures (flushes, never commits)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Exists, Row, Select, bindparam, exists, func, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from credit.decision import Decision, Reason
from insurance.money import from_fen
from settlement.billing.credit_tables import AgreementSignatureRow, CreditDecisionRow
from settlement.foundation.db import execute_on_connection, lock_until_commit
from settlement.foundation.lists import in_listed, listed


def credit_lock_key(psn_no: str) -> str:
    """The advisory lock that serialises one patient's credit writes (PostgreSQL)."""
    return f"credit:{psn_no}"


class CreditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_patient(self, psn_no: str) -> None:
        """Serialise credit writes for one patient until the transaction ends.

        PostgreSQL: a transaction-scoped advisory lock, so a second writer waits and then reads
        the first one's decision. SQLite: every write transaction already holds the database
        write lock (``BEGIN IMMEDIATE``), so there is nothing more to take.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            lock_until_commit(self.session, credit_lock_key(psn_no))

    # --- decisions ---------------------------------------------------------------------------

    def latest_decision_row(self, psn_no: str) -> CreditDecisionRow | None:
        return self.session.scalars(_LATEST_DECISION, {"psn_no": psn_no}).first()

    def latest_decision(self, psn_no: str) -> Decision | None:
        row = self.latest_decision_row(psn_no)
        return None if row is None else to_decision(row)

    def latest_decision_and_signature(
        self, psn_no: str, version: int
    ) -> tuple[Decision, bool] | None:
        """The latest decision and whether ``version`` is signed and not revoked, in one
        statement (every charge and visit reads both); ``None`` if there never was a decision."""
        row = execute_on_connection(
            self.session, _LATEST_DECISION_AND_SIGNATURE, {"psn_no": psn_no, "version": version}
        ).first()
        return None if row is None else (to_decision(row), bool(row.signed))

    def latest_decisions_and_signatures(
        self, psn_nos: Collection[str], version: int
    ) -> dict[str, tuple[Decision, bool]]:
        """:meth:`latest_decision_and_signature` for several patients in one statement (a
        group of charges reads them together); those who never had a decision are absent."""
        rows = execute_on_connection(
            self.session,
            _LATEST_DECISIONS_AND_SIGNATURES[self.session.get_bind().dialect.name],
            {"psn_nos": listed(self.session, psn_nos), "version": version},
        )
        return {row.psn_no: (to_decision(row), bool(row.signed)) for row in rows}

    def decisions(self, psn_no: str) -> list[Decision]:
        query = (
            select(CreditDecisionRow)
            .where(CreditDecisionRow.psn_no == psn_no)
            .order_by(CreditDecisionRow.seq)
        )
        return [to_decision(row) for row in self.session.scalars(query)]

    def append_decision(
        self, psn_no: str, decision: Decision, *, decided_at: datetime, seq: int | None = None
    ) -> CreditDecisionRow:
        """Append ``decision`` as the patient's next; ``seq``: its number, when the caller read
        the latest under the patient's lock (else it is read here)."""
        if seq is None:
            last = self.session.scalar(
                select(func.max(CreditDecisionRow.seq)).where(CreditDecisionRow.psn_no == psn_no)
            )
            seq = (last or 0) + 1
        row = decision_row(psn_no, decision, decided_at=decided_at, seq=seq)
        self.session.add(row)
        self.session.flush()
        return row

    # --- signatures --------------------------------------------------------------------------

    def active_signatures(self, psn_no: str) -> list[AgreementSignatureRow]:
        query = (
            select(AgreementSignatureRow)
            .where(
                AgreementSignatureRow.psn_no == psn_no, AgreementSignatureRow.revoked_at.is_(None)
            )
            .order_by(AgreementSignatureRow.version, AgreementSignatureRow.id)
        )
        return list(self.session.scalars(query))

    def has_active_signature(self, psn_no: str, version: int) -> bool:
        """Whether ``psn_no`` signed ``version`` and has not revoked it (one EXISTS, no rows)."""
        return bool(
            self.session.scalar(_HAS_ACTIVE_SIGNATURE, {"psn_no": psn_no, "version": version})
        )

    def add_signature(self, signature: AgreementSignatureRow) -> None:
        self.session.add(signature)
        self.session.flush()


# Built once: every charge and visit reads a patient's standing through them.
_LATEST_DECISION = (
    select(CreditDecisionRow)
    .where(CreditDecisionRow.psn_no == bindparam("psn_no"))
    .order_by(CreditDecisionRow.seq.desc())
    .limit(1)
)


def _active_signature(psn_no: ColumnElement[str] | QueryableAttribute[str]) -> Exists:
    """Whether ``psn_no`` signed agreement ``:version`` and has not revoked it."""
    return exists().where(
        AgreementSignatureRow.psn_no == psn_no,
        AgreementSignatureRow.version == bindparam("version"),
        AgreementSignatureRow.revoked_at.is_(None),
    )


_ACTIVE_SIGNATURE = _active_signature(bindparam("psn_no"))
_HAS_ACTIVE_SIGNATURE = select(_ACTIVE_SIGNATURE)
#: The columns a decision is made of (:func:`to_decision`), for reads that need no mapped object.
DECISION_COLUMNS = (
    CreditDecisionRow.status,
    CreditDecisionRow.line_fen,
    CreditDecisionRow.score,
    CreditDecisionRow.reasons,
    CreditDecisionRow.scorecard_version,
    CreditDecisionRow.inputs,
    CreditDecisionRow.as_of,
    CreditDecisionRow.event,
    CreditDecisionRow.suspended_until,
    CreditDecisionRow.overdue_unpaid,
)
_LATEST_DECISION_AND_SIGNATURE = _LATEST_DECISION.with_only_columns(
    *DECISION_COLUMNS, _ACTIVE_SIGNATURE.label("signed")
)


def _latest_decisions_and_signatures(*, postgres: bool) -> Select[Any]:
    earlier = aliased(CreditDecisionRow)
    latest_seq = (
        select(func.max(earlier.seq)).where(earlier.psn_no == CreditDecisionRow.psn_no)
    ).scalar_subquery()
    signed = _active_signature(CreditDecisionRow.psn_no)
    return select(CreditDecisionRow.psn_no, *DECISION_COLUMNS, signed.label("signed")).where(
        in_listed(CreditDecisionRow.psn_no, "psn_nos", postgres=postgres),
        CreditDecisionRow.seq == latest_seq,
    )


#: One text for any number of patients (a group of charges reads them together).
_LATEST_DECISIONS_AND_SIGNATURES = {
    dialect: _latest_decisions_and_signatures(postgres=dialect == "postgresql")
    for dialect in ("postgresql", "sqlite")
}


def decision_row(
    psn_no: str, decision: Decision, *, decided_at: datetime, seq: int
) -> CreditDecisionRow:
    """The row that records ``decision`` as the patient's ``seq``-th, not yet added."""
    return CreditDecisionRow(
        psn_no=psn_no,
        seq=seq,
        status=decision.status,
        line_fen=decision.line_fen,
        score=decision.score,
        reasons=[_reason_json(reason) for reason in decision.reasons],
        inputs=dict(decision.inputs),
        scorecard_version=decision.scorecard_version,
        event=decision.event,
        suspended_until=decision.suspended_until,
        overdue_unpaid=decision.overdue_unpaid,
        as_of=decision.as_of,
        decided_at=decided_at,
    )


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "zh": reason.zh,
        "en": reason.en,
        "points_lost": reason.points_lost,
        "attribute": reason.attribute,
    }


def to_decision(row: CreditDecisionRow | Row[Any]) -> Decision:
    """The decision of a mapped row, or of a result row with :data:`DECISION_COLUMNS`."""
    return Decision(
        status=row.status,  # type: ignore[arg-type]  # only Status values are ever written
        line=from_fen(row.line_fen),
        score=row.score,
        reasons=tuple(Reason(**reason) for reason in row.reasons),
        scorecard_version=row.scorecard_version,
        inputs=row.inputs,
        as_of=row.as_of,
        event=row.event,
        suspended_until=row.suspended_until,
        overdue_unpaid=row.overdue_unpaid,
    )
