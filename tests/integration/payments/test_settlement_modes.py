"""Both settlement modes over whole visits: close, repayment, wallet failure, refunds before and
after repayment, the 72-hour window, and a Hypothesis property on the money (issue 20 item 3).

``repayment`` (the demo region's): the whole bill goes on credit, everything settles when the
patient repays. ``visit_end``: the pooled fund's share settles when the visit closes, the line
carries only the personal part, the repayment takes the account first, then the wallet.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurance.money import format_amount
from settlement.scheduler import run_due
from tests.integration.payments.support import (
    AMOXICILLIN,
    CO_AMOXICLAV,
    EXPERT,
    HEALTH_ADVICE,
    REGISTRATION,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    login,
    pay,
    set_behaviour,
    settlements,
    snapshot,
    use_mode,
)

D = Decimal
MODES = ("repayment", "visit_end")


def reconciled(service, his) -> None:
    """The hospital's days so far: the records and the ledger agree, payer by payer."""
    day = service.clock.now().date()
    for offset in range(5):
        on = (day - timedelta(days=offset)).isoformat()
        report = his.get(f"/his/v1/reconciliation?date={on}").json()
        assert report["balanced"] is True, (on, report["mismatches"])


def story(service, his, mode: str, *, balc: str = "100.00"):
    """A 330.00 bill at a level-3 hospital (in service, 50 %): 300.00 class A (200.00 deductible,
    then 50.00 from the fund) and 30.00 class C."""
    use_mode(service, mode)
    person, line = service.enrol(balc=balc)
    start = snapshot(service, person.psn_no)
    bill_id, sns = bill_for(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    return person, line, start, bill_id, sns


@pytest.mark.parametrize("mode", MODES)
def test_a_whole_visit_moves_the_same_money_in_both_modes_at_different_times(service, his, mode):
    person, line, start, bill_id, _ = story(service, his, mode)
    closed = snapshot(service, person.psn_no)
    bill = bill_row(service, bill_id)
    assert bill.settlement_mode == mode
    if mode == "visit_end":
        # The fund's share settled at close; the line holds exactly the personal part.
        assert closed.outstanding == D("280.00")
        assert closed.pool_posted == start.pool_posted - D("50.00")
        assert (closed.deductible_used, closed.hifp_paid) == (D("200.00"), D("50.00"))
        assert bill.fund_settled_fen == 5000
    else:
        assert closed.outstanding == D("330.00")
        assert closed.pool_posted == start.pool_posted
        assert (closed.deductible_used, closed.hifp_paid) == (D("0.00"), D("0.00"))
        assert bill.fund_settled_fen == 0
    assert closed.available == line - closed.outstanding
    view = his.get(f"/his/v1/bills/{bill_id}").json()
    assert view["settlement_mode"] == mode
    day = his.get(f"/his/v1/reconciliation?date={service.clock.now().date()}").json()
    assert day["outstanding"] == {"count": 1, "amount": format_amount(closed.outstanding)}
    mine = service.client.get(f"/v1/bills/{bill_id}", headers=login(service, person)).json()
    assert (mine["settlement_mode"], mine["credit_amt"]) == (mode, view["credit_amt"])
    assert mine["pay_now"]["setlinfo"]["psn_part_amt"] == "280.00"
    assert (view["fund_settled_amt"], view["credit_amt"]) == (
        ("50.00", "280.00") if mode == "visit_end" else ("0.00", "330.00")
    )
    assert_ledger_balanced(service)
    reconciled(service, his)

    response = pay(service, login(service, person), bill_id)

    assert response.status_code == 201, response.text
    info = response.json()["setlinfo"]
    assert (info["hifp_pay"], info["acct_pay"], info["psn_cash_pay"]) == (
        "50.00",
        "100.00",
        "180.00",
    )
    assert response.json()["payment"]["amount"] == "180.00"
    paid = snapshot(service, person.psn_no)
    assert bill_row(service, bill_id).status == "settled"
    assert paid.outstanding == D("0.00")
    assert paid.available == line
    assert paid.pool_posted == start.pool_posted - D("50.00")
    assert paid.account_posted == start.account_posted - D("100.00")
    assert paid.wallet_posted == start.wallet_posted - D("180.00")
    assert (paid.deductible_used, paid.hifp_paid) == (D("200.00"), D("50.00"))
    assert paid.pending == 0
    assert_ledger_balanced(service)
    reconciled(service, his)


def test_a_failed_wallet_in_visit_end_gives_back_the_account_and_keeps_the_fund_settled(
    service, his
):
    person, _, start, bill_id, _ = story(service, his, "visit_end")
    closed = snapshot(service, person.psn_no)
    set_behaviour(service, "fail")

    response = pay(service, login(service, person), bill_id)

    assert response.status_code == 201, response.text
    assert bill_row(service, bill_id).status == "billed"
    assert snapshot(service, person.psn_no) == closed
    assert closed.pool_posted == start.pool_posted - D("50.00")
    set_behaviour(service, "succeed")
    again = pay(service, login(service, person), bill_id)
    assert again.json()["setlinfo"]["hifp_pay"] == "50.00"
    assert snapshot(service, person.psn_no).outstanding == 0
    assert sorted(r.status for r in settlements(service, bill_id)) == ["posted", "voided"]
    assert_ledger_balanced(service)
    reconciled(service, his)


@pytest.mark.parametrize("mode", MODES)
def test_a_refund_before_repayment_gives_each_source_its_share(service, his, mode):
    person, line, start, bill_id, sns = story(service, his, mode)

    response = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [sns[0]], "reason": "test"}
    )

    assert response.status_code == 200, response.text
    returned = response.json()["returned"]
    after = snapshot(service, person.psn_no)
    # Only the 30.00 class C line is left: nothing in scope, the fund pays nothing.
    assert response.json()["setlinfo"]["hifp_pay"] == "0.00"
    assert after.outstanding == D("30.00")
    assert after.pool_posted == start.pool_posted
    assert (after.deductible_used, after.hifp_paid) == (D("0.00"), D("0.00"))
    day = his.get(f"/his/v1/reconciliation?date={service.clock.now().date()}").json()
    assert day["outstanding"] == {"count": 1, "amount": "30.00"}
    if mode == "visit_end":
        assert (returned["hifp_pay"], returned["credit_line"]) == ("50.00", "250.00")
        assert bill_row(service, bill_id).fund_settled_fen == 0
    else:
        assert (returned["hifp_pay"], returned["credit_line"]) == ("0.00", "300.00")
    assert_ledger_balanced(service)
    reconciled(service, his)

    paid = pay(service, login(service, person), bill_id)
    assert paid.status_code == 201, paid.text
    assert paid.json()["setlinfo"]["acct_pay"] == "30.00"
    end = snapshot(service, person.psn_no)
    assert (end.outstanding, end.available) == (D("0.00"), line)
    assert end.pool_posted == start.pool_posted
    assert_ledger_balanced(service)
    reconciled(service, his)


@pytest.mark.parametrize("mode", MODES)
def test_a_refund_after_repayment_is_the_same_in_both_modes(service, his, mode):
    person, line, start, bill_id, sns = story(service, his, mode)
    pay(service, login(service, person), bill_id)

    response = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [sns[1]], "reason": "test"}
    )

    assert response.status_code == 200, response.text
    returned = response.json()["returned"]
    assert (returned["hifp_pay"], returned["acct_pay"], returned["psn_cash_pay"]) == (
        "0.00",
        "0.00",
        "30.00",
    )
    end = snapshot(service, person.psn_no)
    assert end.pool_posted == start.pool_posted - D("50.00")
    assert end.wallet_posted == start.wallet_posted - D("150.00")
    assert (end.outstanding, end.available) == (D("0.00"), line)
    # Then the fund's own line too: everything goes back where it came from.
    whole = his.post(f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [sns[0]], "reason": "t"})
    assert whole.status_code == 200, whole.text
    gone = snapshot(service, person.psn_no)
    assert (gone.pool_posted, gone.account_posted) == (start.pool_posted, start.account_posted)
    assert gone.wallet_posted == start.wallet_posted
    assert (gone.deductible_used, gone.hifp_paid) == (D("0.00"), D("0.00"))
    assert bill_row(service, bill_id).status == "refunded"
    assert_ledger_balanced(service)
    reconciled(service, his)


@pytest.mark.parametrize("mode", MODES)
def test_the_72_hour_window_runs_on_what_the_patient_owes(service, his, mode):
    person, _, start, bill_id, _ = story(service, his, mode)
    service.advance(hours=71)
    run_due(service.container)
    assert bill_row(service, bill_id).status == "billed"
    service.advance(hours=2)
    run_due(service.container)
    assert bill_row(service, bill_id).status == "overdue"
    credit = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert credit["status"] == "frozen"
    # Every reminder and the overdue notice name what the patient owes.
    owed = "280.00" if mode == "visit_end" else "330.00"
    sent = service.client.get("/sandbox/v1/messages", params={"psn_no": person.psn_no}).json()
    assert {message["kind"] for message in sent} >= {"overdue", "remind_2h"}
    assert all(f"¥{owed}" in message["body"] for message in sent), sent
    frozen = snapshot(service, person.psn_no)
    assert frozen.outstanding == (D("280.00") if mode == "visit_end" else D("330.00"))

    paid = pay(service, login(service, person), bill_id)

    assert paid.status_code == 201, paid.text
    assert bill_row(service, bill_id).status == "settled_late"
    end = snapshot(service, person.psn_no)
    assert end.outstanding == 0
    assert end.pool_posted == start.pool_posted - D("50.00")
    assert_ledger_balanced(service)
    reconciled(service, his)


# -- a property over whole visits ------------------------------------------------------------------

money = st.integers(min_value=1, max_value=40_000).map(lambda fen: f"{D(fen) / 100:.2f}")
line = st.tuples(
    st.sampled_from([AMOXICILLIN, CO_AMOXICLAV, HEALTH_ADVICE, REGISTRATION, EXPERT]),
    money,
    st.sampled_from(["1", "2"]),
)


@st.composite
def visits(draw):
    lines = draw(st.lists(line, min_size=1, max_size=4))
    return {
        "lines": lines,
        "balc": f"{draw(st.integers(0, 60_000)) / 100:.2f}",
        "ytd_dedc": draw(st.sampled_from(["0.00", "150.00", "200.00"])),
        "before": draw(st.lists(st.integers(0, len(lines) - 1), unique=True, max_size=2)),
        "after": draw(st.lists(st.integers(0, len(lines) - 1), unique=True, max_size=2)),
    }


def _whole_visit(service, his, mode, visit):
    use_mode(service, mode)
    person, limit = service.enrol(balc=visit["balc"], ytd_dedc=visit["ytd_dedc"])
    start = snapshot(service, person.psn_no)
    lines = visit["lines"]
    if sum(D(p) * D(c) for _, p, c in lines) > limit:
        lines = [(lines[0][0], lines[0][1], "1")]
    bill_id, sns = bill_for(his, person.psn_no, *lines)
    closed = snapshot(service, person.psn_no)
    bill = bill_row(service, bill_id)
    estimate = bill.estimate
    # A bill the fund and the account cover settles at close in both modes (issue 16 item 4).
    covered = bill.status == "settled"
    fund_at_close = start.pool_posted - closed.pool_posted
    owed = D(estimate["psn_part_amt"]) if mode == "visit_end" else D(estimate["medfee_sumamt"])
    assert closed.outstanding == (0 if covered else owed)  # the line holds exactly what is owed
    fund_now = mode == "visit_end" or covered
    assert fund_at_close == (D(estimate["hifp_pay"]) if fund_now else 0)
    before = [sns[i] for i in visit["before"] if i < len(sns)]
    if before:
        his.post(f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": before, "reason": "p"})
    left = [sn for sn in sns if sn not in before]
    if left and bill_row(service, bill_id).status == "billed":
        assert pay(service, login(service, person), bill_id).status_code == 201
    after = [sns[i] for i in visit["after"] if i < len(sns) and sns[i] in left]
    if after and bill_row(service, bill_id).status == "settled":
        done = his.post(f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": after, "reason": "p"})
        assert done.status_code == 200, done.text
    view = his.get(f"/his/v1/bills/{bill_id}").json()
    info = view["setlinfo"] if view["settled"] else None
    end = snapshot(service, person.psn_no)
    assert end.outstanding == 0
    assert end.pending == 0
    taken = {
        "fund": start.pool_posted - end.pool_posted,
        "account": start.account_posted - end.account_posted,
        "wallet": start.wallet_posted - end.wallet_posted,
    }
    if info is not None:
        # fund + account + wallet = what remains of the bill, to the fen
        assert taken["fund"] == D(info["hifp_pay"])
        assert taken["account"] == D(info["acct_pay"])
        assert taken["wallet"] == D(info["psn_cash_pay"])
        assert sum(taken.values()) == D(info["medfee_sumamt"])
        assert end.hifp_paid - start.hifp_paid == D(info["hifp_pay"])
        assert end.deductible_used - start.deductible_used == D(info["act_pay_dedc"])
    else:
        assert taken == dict.fromkeys(taken, D("0.00"))
        assert (end.hifp_paid, end.deductible_used) == (start.hifp_paid, start.deductible_used)
    assert_ledger_balanced(service)
    reconciled(service, his)
    return taken


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(visit=visits())
def test_both_modes_take_the_same_money_from_each_source_for_the_same_visit(service, his, visit):
    taken = {mode: _whole_visit(service, his, mode, visit) for mode in MODES}
    assert taken["repayment"] == taken["visit_end"]


def test_auto_pay_in_visit_end_takes_only_the_personal_part_and_a_decline_names_it(service, his):
    use_mode(service, "visit_end")
    person = service.add_person(balc="100.00")
    service.sign(person, autopay="on_close")
    headers = service.login(person)
    assert service.client.put("/v1/wallets/wechat/withholding", headers=headers).status_code == 200
    start = snapshot(service, person.psn_no)
    set_behaviour(service, "fail")
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))

    run_due(service.container)

    assert bill_row(service, bill_id).status == "billed"
    sent = service.client.get("/sandbox/v1/messages", params={"psn_no": person.psn_no}).json()
    declined = [m["body"] for m in sent if m["kind"] == "autopay_failed"]
    assert declined and all("¥280.00" in body for body in declined), sent
    set_behaviour(service, "succeed")
    paid = pay(service, login(service, person), bill_id)
    assert paid.json()["setlinfo"]["psn_cash_pay"] == "180.00"
    end = snapshot(service, person.psn_no)
    assert end.pool_posted == start.pool_posted - D("50.00")
    assert end.outstanding == 0
    assert_ledger_balanced(service)


@pytest.mark.parametrize("mode", MODES)
def test_a_bill_the_account_covers_settles_at_close_in_both_modes(service, his, mode):
    use_mode(service, mode)
    person, line = service.enrol(balc="100.00", ytd_dedc="200.00")
    start = snapshot(service, person.psn_no)

    # 100.00 in scope (deductible met): 50.00 from the fund, 60.00 from the account.
    bill_id, sns = bill_for(
        his, person.psn_no, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1")
    )

    assert bill_row(service, bill_id).status == "settled"
    end = snapshot(service, person.psn_no)
    assert (end.outstanding, end.available) == (D("0.00"), line)
    assert end.pool_posted == start.pool_posted - D("50.00")
    assert end.account_posted == start.account_posted - D("60.00")
    assert end.hifp_paid == start.hifp_paid + D("50.00")
    [record] = settlements(service, bill_id)
    assert (record.hifp_pay_fen, record.acct_own_pay_fen, record.psn_cash_pay_fen) == (
        5000,
        6000,
        0,
    )
    assert_ledger_balanced(service)
    reconciled(service, his)

    refunded = his.post(f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": sns, "reason": "t"})
    assert refunded.status_code == 200, refunded.text
    gone = snapshot(service, person.psn_no)
    assert (gone.pool_posted, gone.account_posted) == (start.pool_posted, start.account_posted)
    assert gone.hifp_paid == start.hifp_paid
    assert_ledger_balanced(service)
    reconciled(service, his)
