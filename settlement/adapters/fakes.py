"""In-memory platforms for unit tests and benchmarks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal

from settlement.adapters.ports import CreditReport, OverdueReport, PersonRecord


class InMemoryInsurancePlatform:
    def __init__(self, people: list[PersonRecord] | None = None) -> None:
        self.people = {person.psn_no: person for person in people or []}

    def add(self, person: PersonRecord) -> None:
        self.people[person.psn_no] = person

    def lookup_person(self, psn_no: str) -> PersonRecord | None:
        return self.people.get(psn_no)

    def lookup_persons(self, psn_nos: Collection[str]) -> dict[str, PersonRecord]:
        return {psn_no: self.people[psn_no] for psn_no in psn_nos if psn_no in self.people}

    def debit_personal_account(self, psn_no: str, amount: Decimal) -> Decimal:
        return self.credit_personal_account(psn_no, -amount)

    def credit_personal_account(self, psn_no: str, amount: Decimal) -> Decimal:
        person = self.people[psn_no]
        balance = person.balc + amount
        if balance < 0:
            raise ValueError(f"the personal account of {psn_no} holds less than {-amount}")
        self.people[psn_no] = replace(person, balc=balance)
        return balance


class InMemoryCreditPlatform:
    def __init__(self, reports: dict[str, CreditReport] | None = None) -> None:
        self.reports = dict(reports or {})
        self.overdue_reports: list[OverdueReport] = []

    def rating(self, certno: str) -> CreditReport | None:
        return self.reports.get(certno)

    def report_overdue(self, report: OverdueReport) -> bool:
        if any(sent.bill_id == report.bill_id for sent in self.overdue_reports):
            return False
        self.overdue_reports.append(report)
        return True
