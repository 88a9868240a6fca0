"""Refunds of a relative's bill (2208) over HTTP: mutual aid after settlement, shared credit
before it, and an overdue bill refunded whole."""

from __future__ import annotations

from decimal import Decimal

from tests.harness import Service
from tests.integration.family.support import Family, charge, close, credit, make_family
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    settlements,
    snapshot,
)

D = Decimal
TODAY = "2026-11-23"


def refund(family: Family, bill_id: str, *sns: str) -> dict[str, object]:
    response = family.his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": list(sns), "reason": "退药"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def pay_as_manager(family: Family, bill_id: str) -> dict[str, str]:
    paid = family.post(f"/v1/bills/{bill_id}/payments", family.manager_auth, {"wallet": "wechat"})
    assert paid.status_code == 201, paid.text
    info: dict[str, str] = paid.json()["setlinfo"]
    return info


def reconciliation_balanced(family: Family) -> None:
    response = family.his.get(f"/his/v1/reconciliation?date={TODAY}")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["balanced"] is True, report["mismatches"]


def test_refunds_after_mutual_aid_give_the_managers_account_back_exactly_what_it_paid(
    service: Service,
) -> None:
    family = make_family(service, manager_balc="80.25", relative_balc="10.00")
    manager, relative = family.manager.psn_no, family.relative.psn_no
    relative_before = snapshot(service, relative)
    manager_before = snapshot(service, manager)
    bill_id, (drug, advice) = bill_for(
        family.his, relative, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    info = pay_as_manager(family, bill_id)
    # Retired at level 3: 55 % of (300 − 200 deductible); the rest from the accounts and wallet.
    assert (info["hifp_pay"], info["acct_pay"], info["acct_mulaid_pay"]) == (
        "55.00",
        "90.25",
        "80.25",
    )
    assert info["psn_cash_pay"] == "184.75"
    assert snapshot(service, manager).balc == 0

    # Refund the drug: 30.00 of class C remains, paid by the relative's 10.00 and 20.00 of aid.
    partial = refund(family, bill_id, drug)
    assert partial["status"] == "settled"
    assert partial["returned"] == {
        "hifp_pay": "55.00",
        "acct_pay": "60.25",
        "acct_mulaid_pay": "60.25",
        "psn_cash_pay": "184.75",
        "credit_line": "0.00",
    }
    again = partial["setlinfo"]
    assert isinstance(again, dict)
    assert (again["acct_pay"], again["acct_mulaid_pay"], again["psn_cash_pay"]) == (
        "30.00",
        "20.00",
        "0.00",
    )
    manager_now = snapshot(service, manager)
    assert manager_now.balc == D("60.25")
    assert manager_now.account_posted == D("-20.00")  # the ledger: only the aid still paid
    assert snapshot(service, relative).balc == 0
    assert sorted(s.status for s in settlements(service, bill_id)) == ["posted", "reversed"]
    assert_ledger_balanced(service)
    reconciliation_balanced(family)

    # Refund the rest: every source has back everything it paid.
    whole = refund(family, bill_id, advice)
    assert whole["status"] == "refunded"
    assert whole["returned"] == {
        "hifp_pay": "0.00",
        "acct_pay": "30.00",
        "acct_mulaid_pay": "20.00",
        "psn_cash_pay": "0.00",
        "credit_line": "0.00",
    }
    assert snapshot(service, relative) == relative_before
    assert snapshot(service, manager) == manager_before
    assert_ledger_balanced(service)
    reconciliation_balanced(family)


def test_a_full_refund_at_once_after_mutual_aid_restores_every_account(service: Service) -> None:
    family = make_family(service, manager_balc="500.00", relative_balc="0.00")
    manager, relative = family.manager.psn_no, family.relative.psn_no
    relative_before = snapshot(service, relative)
    manager_before = snapshot(service, manager)
    bill_id, sns = bill_for(family.his, relative, (HEALTH_ADVICE, "45.67", "1"))
    info = pay_as_manager(family, bill_id)
    assert info["acct_mulaid_pay"] == "45.67" and info["psn_cash_pay"] == "0.00"

    body = refund(family, bill_id, *sns)

    assert body["returned"] == {
        "hifp_pay": "0.00",
        "acct_pay": "45.67",
        "acct_mulaid_pay": "45.67",
        "psn_cash_pay": "0.00",
        "credit_line": "0.00",
    }
    assert snapshot(service, relative) == relative_before
    assert snapshot(service, manager) == manager_before
    assert_ledger_balanced(service)
    reconciliation_balanced(family)


def test_a_refund_before_settlement_gives_each_line_back_its_share(service: Service) -> None:
    family = make_family(service)
    own = D(credit(service, family.relative_auth)["available"])
    manager_before = D(credit(service, family.manager_auth)["available"])
    opened = family.his.open_visit(family.relative.psn_no)
    mdtrt_id = opened.json()["mdtrt_id"]
    # The first line fits the relative's line; the second needs 150.00 of the manager's.
    charged = family.his.charge(
        mdtrt_id, ("UNLISTED-ITEM", f"{own - 50:.2f}", "1"), ("UNLISTED-ITEM", "200.00", "1")
    )
    assert charged.status_code == 201, charged.text
    _first, split = (fee["feedetl_sn"] for fee in charged.json()["fees"])
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    assert D(credit(service, family.manager_auth)["available"]) == manager_before - 150

    body = refund(family, bill_id, split)

    assert body["status"] == "billed"
    assert body["refund_amount"] == "200.00"
    assert body["returned"]["credit_line"] == "200.00"
    assert D(credit(service, family.manager_auth)["available"]) == manager_before
    assert D(credit(service, family.relative_auth)["available"]) == 50
    # The manager's line no longer carries anything of the relative's: the link may end.
    assert snapshot(service, family.manager.psn_no).outstanding == 0
    assert_ledger_balanced(service)

    # Paying what remains repays the relative's line only; then everything is back.
    pay_as_manager(family, bill_id)
    assert D(credit(service, family.relative_auth)["available"]) == own
    assert D(credit(service, family.manager_auth)["available"]) == manager_before
    ended = family.delete(f"/v1/family/members/{family.relative.psn_no}", family.manager_auth)
    assert ended.status_code == 200, ended.text
    assert_ledger_balanced(service)
    reconciliation_balanced(family)


def test_a_whole_refund_of_a_shared_bill_frees_both_lines(service: Service) -> None:
    family = make_family(service)
    own = D(credit(service, family.relative_auth)["available"])
    manager_before = D(credit(service, family.manager_auth)["available"])
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, f"{own + 75:.2f}")
    sn = charged.json()["fees"][0]["feedetl_sn"]
    bill_id = close(family.his, mdtrt_id)["bill_id"]

    body = refund(family, bill_id, sn)

    assert body["status"] == "refunded"
    assert D(credit(service, family.relative_auth)["available"]) == own
    assert D(credit(service, family.manager_auth)["available"]) == manager_before
    assert_ledger_balanced(service)


def test_an_overdue_bill_refunded_whole_lifts_the_freeze_and_a_new_visit_is_accepted(
    service: Service,
) -> None:
    family = make_family(service)
    own = D(credit(service, family.relative_auth)["available"])
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, f"{own + 5:.2f}")
    sn = charged.json()["fees"][0]["feedetl_sn"]
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 73}).status_code == 200
    assert service.client.post("/sandbox/v1/scheduler/run").status_code == 200
    assert credit(service, family.relative_auth)["status"] == "frozen"
    assert credit(service, family.manager_auth)["status"] == "frozen"  # the shared bill
    refused = family.his.open_visit(family.relative.psn_no)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "credit_frozen"

    body = refund(family, bill_id, sn)

    assert body["status"] == "refunded"
    after = credit(service, family.relative_auth)
    assert after["status"] == "active"
    assert after["outstanding"] == "0.00"
    assert D(after["available"]) == D(after["credit_line"]) > 0
    assert credit(service, family.manager_auth)["status"] == "active"
    for psn_no in (family.relative.psn_no, family.manager.psn_no):
        opened = family.his.open_visit(psn_no)
        assert opened.status_code == 201, opened.text
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, "12.00")
    assert charged.status_code == 201, charged.text
    assert_ledger_balanced(service)


def test_a_partial_refund_of_an_overdue_bill_keeps_the_freeze(service: Service) -> None:
    family = make_family(service)
    opened = family.his.open_visit(family.relative.psn_no)
    mdtrt_id = opened.json()["mdtrt_id"]
    charged = family.his.charge(
        mdtrt_id, ("UNLISTED-ITEM", "20.00", "1"), ("UNLISTED-ITEM", "30.00", "1")
    )
    first = charged.json()["fees"][0]["feedetl_sn"]
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    service.client.post("/sandbox/v1/clock/advance", json={"hours": 73})
    service.client.post("/sandbox/v1/scheduler/run")

    body = refund(family, bill_id, first)

    assert body["status"] == "overdue"
    assert credit(service, family.relative_auth)["status"] == "frozen"
    assert family.his.open_visit(family.relative.psn_no).status_code == 403
