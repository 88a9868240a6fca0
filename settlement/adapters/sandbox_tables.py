"""Sandbox data: insured persons as the insurance and credit platforms would report them.

The lead's ``POST /sandbox/v1/insured-persons`` route and the demo seeder write here through
:func:`upsert_sandbox_person`; the sandbox platforms in :mod:`settlement.adapters.sandbox` read it.
``balc_fen`` is the personal account balance, which settlement moves.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from credit.decision import RATINGS
from credit.identity import validate_certno
from insurance.money import from_fen, parse_amount, to_fen
from settlement.foundation.orm import Base, FenColumn, UTCDateTime
from settlement.foundation.ports import CreditReport, PersonRecord


class SandboxAccountMovement(Base):
    """A personal-account movement the sandbox platform made, by its idempotency key: a repeat
    of the key answers from here and moves nothing; ``movement(key)`` reads it."""

    __tablename__ = "sandbox_account_movements"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(30))
    direction: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    balc_after_fen: Mapped[int] = mapped_column(FenColumn)


class SandboxInsuredPerson(Base):
    __tablename__ = "sandbox_insured_persons"

    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    certno: Mapped[str] = mapped_column(String(18), index=True)
    psn_name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20))
    insutype: Mapped[str] = mapped_column(String(6))
    psn_type: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(16), default="active")
    balc_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    ytd_act_pay_dedc_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    ytd_hifp_pay_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    insuplc_admdvs: Mapped[str] = mapped_column(String(12))
    rating: Mapped[str] = mapped_column(String(2))
    dishonest: Mapped[bool] = mapped_column(Boolean, default=False)
    contribution_months: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(200), default="")

    def person(self) -> PersonRecord:
        return person_record(self)

    def credit_report(self) -> CreditReport:
        return CreditReport(self.rating, self.dishonest, self.contribution_months)


#: The columns a person record is made of, for reads that need no mapped object.
PERSON_COLUMNS = (
    SandboxInsuredPerson.psn_no,
    SandboxInsuredPerson.psn_name,
    SandboxInsuredPerson.certno,
    SandboxInsuredPerson.phone,
    SandboxInsuredPerson.insutype,
    SandboxInsuredPerson.psn_type,
    SandboxInsuredPerson.status,
    SandboxInsuredPerson.balc_fen,
    SandboxInsuredPerson.insuplc_admdvs,
    SandboxInsuredPerson.ytd_act_pay_dedc_fen,
    SandboxInsuredPerson.ytd_hifp_pay_fen,
)


def person_record(row: Any) -> PersonRecord:
    """The record of ``row``: a mapped person, or a result row with :data:`PERSON_COLUMNS`."""
    return PersonRecord(
        psn_no=row.psn_no,
        psn_name=row.psn_name,
        certno=row.certno,
        phone=row.phone,
        insutype=row.insutype,
        psn_type=row.psn_type,
        status=row.status,
        balc=from_fen(row.balc_fen),
        insuplc_admdvs=row.insuplc_admdvs,
        ytd_act_pay_dedc=from_fen(row.ytd_act_pay_dedc_fen),
        ytd_hifp_pay=from_fen(row.ytd_hifp_pay_fen),
    )


class SandboxCreditReportRow(Base):
    """Overdue reports the sandbox credit platform received (one per bill)."""

    __tablename__ = "sandbox_credit_reports"
    __table_args__ = (UniqueConstraint("bill_id"),)

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    certno: Mapped[str] = mapped_column(String(18))
    bill_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class SandboxPerson:
    """What the sandbox route accepts: the insurance record, the credit report, a free note."""

    person: PersonRecord
    credit: CreditReport
    note: str = ""


def upsert_sandbox_person(session: Session, record: SandboxPerson) -> SandboxInsuredPerson:
    """Insert or replace a sandbox person (flushes, never commits).

    Raises:
        IdentityError: the ``certno`` is malformed or its check character is wrong.
        ValueError: an unknown rating or a negative count.
    """
    person, credit = record.person, record.credit
    certno = validate_certno(person.certno)
    if credit.rating not in RATINGS:
        raise ValueError(f"unknown public credit rating {credit.rating!r}")
    if credit.contribution_months < 0:
        raise ValueError("contribution_months must not be negative")
    row = session.get(SandboxInsuredPerson, person.psn_no)
    if row is None:
        row = SandboxInsuredPerson(psn_no=person.psn_no)
        session.add(row)
    row.certno = certno
    row.psn_name = person.psn_name
    row.phone = person.phone
    row.insutype = person.insutype
    row.psn_type = person.psn_type
    row.status = person.status
    row.balc_fen = to_fen(person.balc)
    row.ytd_act_pay_dedc_fen = to_fen(person.ytd_act_pay_dedc)
    row.ytd_hifp_pay_fen = to_fen(person.ytd_hifp_pay)
    row.insuplc_admdvs = person.insuplc_admdvs
    row.rating = credit.rating
    row.dishonest = credit.dishonest
    row.contribution_months = credit.contribution_months
    row.note = record.note
    session.flush()
    return row


def read_demo_persons(csv_path: Path) -> list[SandboxPerson]:
    """The persons of a demo CSV (``seeds/demo/insured_persons.csv``)."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        return [_from_csv_row(row) for row in csv.DictReader(handle)]


def _from_csv_row(row: dict[str, str]) -> SandboxPerson:
    person = PersonRecord(
        psn_no=row["psn_no"].strip(),
        psn_name=row["psn_name"].strip(),
        certno=row["certno"].strip(),
        phone=row["phone"].strip(),
        insutype=row["insutype"].strip(),
        psn_type=row["psn_type"].strip(),
        status=(row.get("status") or "active").strip(),
        balc=parse_amount(row["balc"], name="balc"),
        insuplc_admdvs=(row.get("insuplc_admdvs") or "371400").strip(),
        ytd_act_pay_dedc=parse_amount(row.get("ytd_act_pay_dedc") or "0", name="ytd_act_pay_dedc"),
        ytd_hifp_pay=parse_amount(row.get("ytd_hifp_pay") or "0", name="ytd_hifp_pay"),
    )
    dishonest = row.get("dishonest", "false").strip().lower()
    if dishonest not in ("true", "false"):
        raise ValueError(f"{person.psn_no}: dishonest must be true or false, not {dishonest!r}")
    credit = CreditReport(
        rating=row["rating"].strip(),
        dishonest=dishonest == "true",
        contribution_months=int(row["contribution_months"]),
    )
    return SandboxPerson(person, credit, (row.get("note") or "").strip())


def load_demo_persons(session: Session, csv_path: Path) -> int:
    """Upsert every person of a demo CSV; running it twice changes nothing. Returns the count."""
    people = read_demo_persons(csv_path)
    for record in people:
        upsert_sandbox_person(session, record)
    return len(people)
