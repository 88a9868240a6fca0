"""A relative's visit in the ``visit_end`` mode: the pooled fund's share, settled at close, repays
the relative's own line first (the repayment's waterfall), a refund before repayment re-balances
the family's lines and the fund's share with them, and the manager repays only the personal part
(issue 20 item 3)."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import httpx

from settlement.billing.credit_line import line_balances
from tests.harness import Service
from tests.integration.family.support import Family, close, make_family
from tests.integration.family.test_family_refunds import (
    pay_as_manager,
    reconciliation_balanced,
    refund,
)
from tests.integration.payments.support import (
    AMOXICILLIN,
    assert_ledger_balanced,
    snapshot,
    use_mode,
)

D = Decimal


def owed(service: Service, psn_no: str) -> Decimal:
    with service.container.uow() as uow:
        return line_balances(uow.session, psn_no).outstanding


class RelativesVisit(NamedTuple):
    family: Family
    relative: str
    manager: str
    #: The pooled fund's posted balance before the visit.
    pool: Decimal
    mdtrt_id: str
    #: The HIS's answer to the charge.
    posted: httpx.Response


def relatives_visit(service: Service, *lines: tuple[str, str, str]) -> RelativesVisit:
    """The setup the tests share: the ``visit_end`` mode, a family, the pool's posted balance,
    and a visit of the relative's with ``lines`` charged (the charge's answer unchecked)."""
    use_mode(service, "visit_end")
    family = make_family(service)
    relative, manager = family.relative.psn_no, family.manager.psn_no
    pool = snapshot(service, relative).pool_posted
    mdtrt_id = family.his.open_visit(relative).json()["mdtrt_id"]
    posted = family.his.charge(mdtrt_id, *lines)
    return RelativesVisit(family, relative, manager, pool, mdtrt_id, posted)


def repaid_by_manager(
    service: Service, family: Family, bill_id: str, *, pool: Decimal, fund: str, personal: str
) -> None:
    """The manager repays the bill: the fund's share is what settled before, the account and the
    wallet pay ``personal``, both lines owe nothing, the pool moved by the fund's share only,
    the ledger verifies and the day reconciles."""
    relative, manager = family.relative.psn_no, family.manager.psn_no
    info = pay_as_manager(family, bill_id)

    assert info["hifp_pay"] == fund
    assert D(info["acct_pay"]) + D(info["psn_cash_pay"]) == D(personal)
    assert (owed(service, relative), owed(service, manager)) == (D("0.00"), D("0.00"))
    assert snapshot(service, relative).pool_posted == pool - D(fund)
    assert_ledger_balanced(service)
    reconciliation_balanced(family)


def test_the_fund_repays_the_relatives_own_line_first_and_the_manager_pays_the_rest(
    service: Service,
) -> None:
    family, relative, manager, pool, mdtrt_id, posted = relatives_visit(
        service,
        (AMOXICILLIN, "1000.00", "1"),
        (AMOXICILLIN, "33.33", "1"),
        (AMOXICILLIN, "33.33", "1"),
        (AMOXICILLIN, "33.33", "1"),
    )
    assert posted.status_code == 201, posted.text
    big = posted.json()["fees"][0]["feedetl_sn"]

    bill = close(family.his, mdtrt_id)

    # 1099.99 in scope, 200.00 deductible, retired at level 3 (55 %): the fund pays 494.99 into
    # the relative's own line (900.00); the manager's line still carries its 199.99.
    assert (bill["fund_settled_amt"], bill["credit_amt"]) == ("494.99", "605.00")
    assert (owed(service, relative), owed(service, manager)) == (D("405.01"), D("199.99"))
    assert snapshot(service, relative).pool_posted == pool - D("494.99")
    assert_ledger_balanced(service)
    reconciliation_balanced(family)

    body = refund(family, bill["bill_id"], big)

    # 99.99 left, all within the deductible: the fund's whole share goes back, and the small
    # lines move onto the relative's own line.
    assert body["returned"]["hifp_pay"] == "494.99"
    assert body["setlinfo"]["hifp_pay"] == "0.00"
    assert (owed(service, relative), owed(service, manager)) == (D("99.99"), D("0.00"))
    assert snapshot(service, relative).pool_posted == pool
    assert_ledger_balanced(service)
    reconciliation_balanced(family)

    info = pay_as_manager(family, bill["bill_id"])

    assert info["hifp_pay"] == "0.00"
    assert D(info["acct_pay"]) + D(info["psn_cash_pay"]) == D("99.99")
    assert (owed(service, relative), owed(service, manager)) == (D("0.00"), D("0.00"))
    assert_ledger_balanced(service)
    reconciliation_balanced(family)


def test_a_small_refund_before_repayment_keeps_the_fund_share_on_the_lines_that_carry_it(
    service: Service,
) -> None:
    family, relative, manager, pool, mdtrt_id, posted = relatives_visit(
        service, (AMOXICILLIN, "1000.00", "1"), *[(AMOXICILLIN, "33.33", "1")] * 3
    )
    small = posted.json()["fees"][3]["feedetl_sn"]
    bill = close(family.his, mdtrt_id)

    body = refund(family, bill["bill_id"], small)

    # 1066.66 left: the fund pays (1066.66 − 200.00) × 55 % = 476.66; the relative's own line,
    # freed by the refund and the fund, takes back what the manager's line carried.
    assert body["setlinfo"]["hifp_pay"] == "476.66"
    assert body["returned"] == {**body["returned"], "hifp_pay": "18.33", "credit_line": "15.00"}
    view = family.his.get(f"/his/v1/bills/{bill['bill_id']}").json()
    assert (view["fund_settled_amt"], view["credit_amt"]) == ("476.66", "590.00")
    assert owed(service, relative) + owed(service, manager) == D("590.00")
    assert snapshot(service, relative).pool_posted == pool - D("476.66")
    assert_ledger_balanced(service)
    reconciliation_balanced(family)

    repaid_by_manager(service, family, bill["bill_id"], pool=pool, fund="476.66", personal="590.00")


def test_a_refund_that_shrinks_the_funds_share_on_a_tight_relatives_line_goes_through(
    service: Service,
) -> None:
    family, relative, manager, pool, mdtrt_id, posted = relatives_visit(
        service,
        (AMOXICILLIN, "1000.00", "1"),
        (AMOXICILLIN, "100.00", "1"),
        ("UNLISTED-ITEM", "500.00", "1"),
    )
    assert posted.status_code == 201, posted.text
    drug = posted.json()["fees"][1]["feedetl_sn"]
    bill = close(family.his, mdtrt_id)
    # (1100.00 − 200.00) × 55 % = 495.00 into the relative's own line (900.00, full): it has
    # 495.00 of room; the manager's line carries 700.00 (100.00, the 100.00 drug, the 500.00).
    assert bill["fund_settled_amt"] == "495.00"
    assert (owed(service, relative), owed(service, manager)) == (D("405.00"), D("700.00"))

    body = refund(family, bill["bill_id"], drug)

    # 1500.00 left: the fund pays (1000.00 − 200.00) × 55 % = 440.00, 55.00 less than at close,
    # so the relative's own line has 440.00 of room, not 495.00: it takes back 440.00 of what
    # the manager's line carried, and the manager's line keeps the other 160.00.
    assert body["setlinfo"]["hifp_pay"] == "440.00"
    assert body["returned"] == {**body["returned"], "hifp_pay": "55.00", "credit_line": "45.00"}
    assert (owed(service, relative), owed(service, manager)) == (D("900.00"), D("160.00"))
    assert snapshot(service, relative).pool_posted == pool - D("440.00")
    assert_ledger_balanced(service)
    reconciliation_balanced(family)

    repaid_by_manager(
        service, family, bill["bill_id"], pool=pool, fund="440.00", personal="1060.00"
    )


def test_a_refund_carried_by_the_manager_shrinks_the_fund_without_room_on_the_relatives_line(
    service: Service,
) -> None:
    family, relative, manager, pool, mdtrt_id, posted = relatives_visit(
        service,
        (AMOXICILLIN, "1000.00", "1"),
        ("UNLISTED-ITEM", "500.00", "1"),
        (AMOXICILLIN, "100.00", "1"),
        (AMOXICILLIN, "50.00", "1"),
    )
    assert posted.status_code == 201, posted.text
    drug, small = (fee["feedetl_sn"] for fee in posted.json()["fees"][2:])
    bill = close(family.his, mdtrt_id)
    # (1150.00 − 200.00) × 55 % = 522.50, all into the relative's own line (900.00, full).
    assert bill["fund_settled_amt"] == "522.50"
    refund(family, bill["bill_id"], drug)
    # 467.50 now: the relative's line takes back 467.50 of what the manager's carried and is
    # full again; the manager's line still carries the 50.00 line whole.
    assert (owed(service, relative), owed(service, manager)) == (D("900.00"), D("182.50"))

    body = refund(family, bill["bill_id"], small)

    # The fund's share shrinks by 27.50 (to 440.00) although the refunded line was the
    # manager's: the relative's full line cannot give back 27.50 of the fund's 467.50 in it,
    # so 27.50 of its charges move onto the manager's line, which the refund freed.
    assert body["setlinfo"]["hifp_pay"] == "440.00"
    assert body["returned"] == {**body["returned"], "hifp_pay": "27.50", "credit_line": "22.50"}
    assert (owed(service, relative), owed(service, manager)) == (D("900.00"), D("160.00"))
    assert snapshot(service, relative).pool_posted == pool - D("440.00")
    assert_ledger_balanced(service)
    reconciliation_balanced(family)

    repaid_by_manager(
        service, family, bill["bill_id"], pool=pool, fund="440.00", personal="1060.00"
    )
