"""Sandbox platforms over the ``sandbox_insured_persons`` table, bound to the caller's session."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from insurance.money import from_fen, to_fen
from settlement.adapters.sandbox_tables import (
    PERSON_COLUMNS,
    SandboxCreditReportRow,
    SandboxInsuredPerson,
    person_record,
)
from settlement.foundation.db import execute_on_connection
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import CreditReport, OverdueReport, PersonRecord


class SandboxInsurancePlatform:
    """Person lookup (national 1101) answered from the sandbox table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup_person(self, psn_no: str) -> PersonRecord | None:
        # Columns, not a mapped object: every charge looks its patient up.
        row = execute_on_connection(self.session, _PERSON, {"psn_no": psn_no}).first()
        return None if row is None else person_record(row)

    def lookup_persons(self, psn_nos: Collection[str]) -> dict[str, PersonRecord]:
        rows = execute_on_connection(self.session, _PERSONS, {"psn_nos": list(psn_nos)})
        return {row.psn_no: person_record(row) for row in rows}

    def debit_personal_account(self, psn_no: str, amount: Decimal) -> Decimal:
        return self._move(psn_no, -to_fen(amount))

    def credit_personal_account(self, psn_no: str, amount: Decimal) -> Decimal:
        return self._move(psn_no, to_fen(amount))

    def _move(self, psn_no: str, delta_fen: int) -> Decimal:
        # One UPDATE, which locks the row and moves the balance only if it stays not negative.
        person = SandboxInsuredPerson
        moved = execute_on_connection(
            self.session,
            update(person)
            .where(person.psn_no == psn_no, person.balc_fen + delta_fen >= 0)
            .values(balc_fen=person.balc_fen + delta_fen)
            .returning(person.balc_fen),
        ).first()
        if moved is None:
            if execute_on_connection(self.session, _PERSON, {"psn_no": psn_no}).first() is None:
                raise ServiceError("patient_not_found", f"no insured person {psn_no}")
            short = from_fen(-delta_fen)
            raise ServiceError("conflict", f"the account of {psn_no} holds less than {short}")
        loaded = self.session.identity_map.get(self.session.identity_key(person, psn_no))
        if loaded is not None:  # a copy this session loaded earlier: read it afresh if asked
            self.session.expire(loaded)
        return from_fen(moved.balc_fen)


class SandboxCreditPlatform:
    """Ratings from the sandbox table; overdue reports kept in ``sandbox_credit_reports``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rating(self, certno: str) -> CreditReport | None:
        query = select(SandboxInsuredPerson).where(SandboxInsuredPerson.certno == certno).limit(1)
        row = self.session.scalars(query).first()
        return None if row is None else row.credit_report()

    def report_overdue(self, report: OverdueReport) -> bool:
        query = select(SandboxCreditReportRow.id).where(
            SandboxCreditReportRow.bill_id == report.bill_id
        )
        if self.session.scalars(query).first() is not None:
            return False
        self.session.add(
            SandboxCreditReportRow(
                psn_no=report.psn_no,
                certno=report.certno,
                bill_id=report.bill_id,
                amount_fen=to_fen(report.amount),
                reported_at=report.reported_at,
            )
        )
        self.session.flush()
        return True


#: Built once: every charge and visit looks its patient up.
_PERSON = select(*PERSON_COLUMNS).where(SandboxInsuredPerson.psn_no == bindparam("psn_no"))
_PERSONS = select(*PERSON_COLUMNS).where(
    SandboxInsuredPerson.psn_no.in_(bindparam("psn_nos", expanding=True))
)
