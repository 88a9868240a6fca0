"""Races on PostgreSQL: a manager and a relative charged at once, at two hospitals, against the
shared credit. No overspend, and no deadlock error ever reaches a caller."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import Engine

from settlement.ledger.ledger import get_account
from tests.database import PostgresTestDatabase
from tests.harness import Service, build_service
from tests.integration.family.support import credit, make_family
from tests.races import run_together

ROUNDS = 6


@pytest.mark.postgres
def test_a_manager_and_a_relative_charged_at_once_never_overspend_the_shared_credit(
    postgres_only: PostgresTestDatabase, engine: Engine
) -> None:
    service: Service = build_service(engine)
    family = make_family(service)
    second = service.add_hospital("H002", level=2)
    own = Decimal(credit(service, family.relative_auth)["available"])
    manager_line = Decimal(credit(service, family.manager_auth)["available"])
    total = own + manager_line
    visits = {}
    for his, psn_no in ((family.his, family.relative.psn_no), (second, family.manager.psn_no)):
        opened = his.open_visit(psn_no)
        assert opened.status_code == 201, opened.text
        visits[psn_no] = (his, opened.json()["mdtrt_id"])
    # Twelve charges of a seventh of the family's total: some must be refused.
    amount = (total / 7).quantize(Decimal("0.01"))

    def run(psn_no: str) -> list[int]:
        his, mdtrt_id = visits[psn_no]
        return [
            his.charge(mdtrt_id, ("UNLISTED-ITEM", f"{amount:.2f}", "1")).status_code
            for _ in range(ROUNDS)
        ]

    per_racer = run_together([partial(run, p) for p in visits])
    statuses = [status for racer in per_racer for status in racer]
    assert set(statuses) <= {201, 402}, statuses
    accepted = statuses.count(201)
    assert accepted * amount <= total
    assert 402 in statuses
    with service.container.uow() as uow:
        for psn_no in visits:
            line = get_account(uow.session, f"patient:{psn_no}:line")
            assert line.debits_pending <= line.credits_posted
        held = sum(get_account(uow.session, f"patient:{p}:line").debits_pending for p in visits)
    assert held == accepted * amount
