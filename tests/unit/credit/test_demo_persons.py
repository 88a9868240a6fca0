from collections import Counter
from datetime import date

from credit.decision import CreditInputs, RepaymentHistory, decide
from credit.identity import age_on, validate_certno
from settlement.adapters.sandbox_tables import read_demo_persons
from tests.unit.credit.support import SEEDS, seeded_scorecard

PEOPLE = read_demo_persons(SEEDS / "demo" / "insured_persons.csv")
TODAY = date(2026, 3, 1)


def test_the_demo_holds_about_three_dozen_people_with_unique_numbers() -> None:
    assert 30 <= len(PEOPLE) <= 50
    assert len({p.person.psn_no for p in PEOPLE}) == len(PEOPLE)
    assert len({p.person.certno for p in PEOPLE}) == len(PEOPLE)
    assert all(p.person.psn_no.startswith("3714") and len(p.person.psn_no) == 20 for p in PEOPLE)


def test_every_demo_certno_is_valid_and_every_retiree_is_sixty_or_older() -> None:
    for record in PEOPLE:
        person = record.person
        assert validate_certno(person.certno, today=TODAY) == person.certno
        if person.psn_type == "12":
            assert age_on(person.certno, TODAY) >= 60, person.psn_name
        else:
            assert 18 <= age_on(person.certno, TODAY) < 65, person.psn_name


def test_the_demo_covers_the_cases_a_demo_needs() -> None:
    insutypes = Counter(p.person.insutype for p in PEOPLE)
    assert insutypes["310"] >= 30 and insutypes["390"] >= 1
    assert sum(p.credit.dishonest for p in PEOPLE) >= 2
    assert any(p.person.status != "active" for p in PEOPLE)
    assert {p.credit.rating for p in PEOPLE} == {"A", "B", "C", "D"}
    elderly = [p for p in PEOPLE if age_on(p.person.certno, TODAY) >= 70]
    assert len(elderly) >= 4
    assert sum("parent of" in p.note for p in PEOPLE) >= 4


def test_every_demo_person_gets_a_decision_and_the_lines_vary() -> None:
    card = seeded_scorecard()
    lines = set()
    for record in PEOPLE:
        person, credit = record.person, record.credit
        decision = decide(
            CreditInputs(
                insutype=person.insutype,
                insured_active=person.insured_active,
                dishonest=credit.dishonest,
                rating=credit.rating,
                contribution_months=credit.contribution_months,
                psn_type=person.psn_type,
                history=RepaymentHistory(),
            ),
            card,
            today=TODAY,
        )
        if decision.status == "active":
            lines.add(decision.line)
    assert len(lines) >= 4
