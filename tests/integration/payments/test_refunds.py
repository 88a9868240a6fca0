"""HIS refunds (2208) over HTTP: before settlement the line is freed; after, every source is paid back."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from settlement.adapters.wallet_tables import SandboxWalletRefund
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    login,
    pay,
    set_behaviour,
    settlements,
    snapshot,
)

D = Decimal


def refund(his, bill_id: str, *sns: str, reason: str = "检查取消"):
    return his.post(f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": list(sns), "reason": reason})


def story(service, his, balc="100.00"):
    person, line = service.enrol(balc=balc)
    before_visit = snapshot(service, person.psn_no)
    bill_id, (drug, advice) = bill_for(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    return person, line, before_visit, bill_id, drug, advice


def wallet_refunds(service) -> list[int]:
    with service.container.uow() as uow:
        return list(uow.session.scalars(select(SandboxWalletRefund.amount_fen)))


def test_a_refund_before_settlement_shrinks_the_bill_and_frees_the_line(service, his):
    person, line, _, bill_id, drug, advice = story(service, his)
    assert snapshot(service, person.psn_no).available == line - D("330.00")

    response = refund(his, bill_id, advice)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "billed"
    assert body["refunded"] == [advice]
    assert body["refund_amount"] == "30.00"
    assert body["medfee_sumamt"] == "300.00"
    assert body["setlinfo"]["medfee_sumamt"] == "300.00"  # the estimate, recomputed
    assert body["setlinfo"]["fulamt_ownpay_amt"] == "0.00"
    assert body["returned"] == {
        "hifp_pay": "0.00",
        "acct_pay": "0.00",
        "acct_mulaid_pay": "0.00",
        "psn_cash_pay": "0.00",
        "credit_line": "30.00",
    }
    after = snapshot(service, person.psn_no)
    assert after.outstanding == D("300.00")
    assert after.available == line - D("300.00")
    assert_ledger_balanced(service)

    last = refund(his, bill_id, drug)
    assert last.json()["status"] == "refunded"
    assert last.json()["medfee_sumamt"] == "0.00"
    assert snapshot(service, person.psn_no).available == line
    # Nothing left to pay.
    paid = pay(service, login(service, person), bill_id)
    assert paid.status_code == 409
    assert paid.json()["error"]["code"] == "bill_not_payable"


def test_a_refund_after_settlement_gives_every_source_back_exactly_what_it_paid(service, his):
    person, line, _, bill_id, drug, advice = story(service, his)
    pay(service, login(service, person), bill_id)  # hifp 50.00, acct 100.00, wallet 180.00
    paid = snapshot(service, person.psn_no)

    response = refund(his, bill_id, advice)  # the 30.00 class C line: all self-pay

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "settled"
    assert body["medfee_sumamt"] == "300.00"
    info = body["setlinfo"]
    assert (info["hifp_pay"], info["acct_pay"], info["psn_cash_pay"]) == (
        "50.00",
        "100.00",
        "150.00",
    )
    assert info["setl_id"].startswith("ST")
    assert body["returned"] == {
        "hifp_pay": "0.00",
        "acct_pay": "0.00",
        "acct_mulaid_pay": "0.00",
        "psn_cash_pay": "30.00",
        "credit_line": "0.00",
    }
    after = snapshot(service, person.psn_no)
    assert after.wallet_posted - paid.wallet_posted == D("30.00")
    assert after.pool_posted == paid.pool_posted
    assert after.account_posted == paid.account_posted
    assert after.balc == paid.balc
    assert wallet_refunds(service) == [3000]
    assert after.outstanding == 0 and after.available == line
    assert [s.status for s in settlements(service, bill_id)].count("posted") == 1
    assert_ledger_balanced(service)

    # The second refund takes the rest: the pool, the account and the wallet get theirs back.
    rest = refund(his, bill_id, drug).json()
    assert rest["status"] == "refunded"
    assert rest["returned"] == {
        "hifp_pay": "50.00",
        "acct_pay": "100.00",
        "acct_mulaid_pay": "0.00",
        "psn_cash_pay": "150.00",
        "credit_line": "0.00",
    }
    assert sorted(wallet_refunds(service)) == [3000, 15000]
    assert_ledger_balanced(service)


def test_a_full_refund_leaves_balances_and_accumulators_as_before_the_visit(service, his):
    person, _line, before_visit, bill_id, drug, advice = story(service, his)
    pay(service, login(service, person), bill_id)
    assert snapshot(service, person.psn_no).balc == 0

    body = refund(his, bill_id, drug, advice).json()

    assert body["status"] == "refunded"
    assert body["returned"]["hifp_pay"] == "50.00"
    assert body["returned"]["acct_pay"] == "100.00"
    assert body["returned"]["psn_cash_pay"] == "180.00"
    assert snapshot(service, person.psn_no) == before_visit
    assert bill_row(service, bill_id).medfee_sumamt_fen == 0
    assert [s.status for s in settlements(service, bill_id)] == ["reversed"]
    assert_ledger_balanced(service)


def test_a_bill_being_paid_cannot_be_refunded(service, his):
    person, _, _, bill_id, _, advice = story(service, his)
    set_behaviour(service, "delay")
    pay(service, login(service, person), bill_id)
    response = refund(his, bill_id, advice)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_an_unknown_line_is_named_and_an_already_refunded_line_is_a_conflict(service, his):
    _, _, _, bill_id, _, advice = story(service, his)
    unknown = refund(his, bill_id, advice, "F-NOPE")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_fee_line"
    assert unknown.json()["error"]["feedetl_sn"] == ["F-NOPE"]
    assert refund(his, bill_id, advice).status_code == 200
    again = refund(his, bill_id, advice)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_refunded"


def test_a_hospital_cannot_refund_another_hospitals_bill(service, his):
    _, _, _, bill_id, _, advice = story(service, his)
    response = refund(service.hospitals["H1"], bill_id, advice)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_refund_retried_with_the_same_key_changes_nothing(service, his):
    person, _, _, bill_id, _, advice = story(service, his)
    first = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [advice], "reason": "x"}, key="r-1"
    )
    again = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [advice], "reason": "x"}, key="r-1"
    )
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(service, person.psn_no).outstanding == D("300.00")
