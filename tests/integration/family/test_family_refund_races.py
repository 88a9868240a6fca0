"""A refund that re-balances a relative's bill, raced on PostgreSQL against charges on the same
family's lines (issue 16 item 2): no line overspent, no deadlock reaching a caller, the bill's
manager part moved back whatever ran first."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import Engine

from settlement.billing.credit_line import line_balances
from settlement.ledger.ledger import get_account
from tests.database import PostgresTestDatabase
from tests.harness import Service, build_service
from tests.integration.family.support import make_family
from tests.integration.family.test_family_refund_rebalance import issue_bill
from tests.integration.payments.support import assert_ledger_balanced
from tests.races import run_together

D = Decimal
ROUNDS = 4


@pytest.mark.postgres
def test_a_rebalancing_refund_and_charges_on_the_family_at_once_never_overspend(
    postgres_only: PostgresTestDatabase, engine: Engine
) -> None:
    service: Service = build_service(engine)
    family = make_family(service)
    second = service.add_hospital("H002", level=2)
    bill_id, (big, *_small) = issue_bill(family)  # the manager's line carries 199.99 of it
    visits = {}
    for psn_no in (family.relative.psn_no, family.manager.psn_no):
        opened = second.open_visit(psn_no)
        assert opened.status_code == 201, opened.text
        visits[psn_no] = opened.json()["mdtrt_id"]

    def refund() -> list[int]:
        answer = family.his.post(
            f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [big], "reason": "退药"}
        )
        return [answer.status_code]

    def charge(psn_no: str) -> list[int]:
        return [
            second.charge(visits[psn_no], ("UNLISTED-ITEM", "150.00", "1")).status_code
            for _ in range(ROUNDS)
        ]

    per_racer = run_together([refund, *(partial(charge, p) for p in visits)])

    assert per_racer[0] == [200]
    statuses = [status for racer in per_racer[1:] for status in racer]
    assert set(statuses) <= {201, 402}, statuses
    with service.container.uow() as uow:
        for psn_no in visits:
            line = get_account(uow.session, f"patient:{psn_no}:line")
            assert line.debits_posted + line.debits_pending <= line.credits_posted
        # The bill's 99.99 left is the relative's own, whatever the charges took meanwhile.
        relative = line_balances(uow.session, family.relative.psn_no)
        assert relative.outstanding == D("99.99")
    assert_ledger_balanced(service)
