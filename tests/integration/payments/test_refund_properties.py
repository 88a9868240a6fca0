"""A property over random bills and refund subsets: money is conserved and the ledger verifies."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    settlements,
    snapshot,
)

D = Decimal
FIELDS = ("hifp_pay", "acct_pay", "psn_cash_pay", "credit_line")

money = st.integers(min_value=1, max_value=40_000).map(lambda fen: f"{D(fen) / 100:.2f}")
line = st.tuples(
    st.sampled_from([AMOXICILLIN, CO_AMOXICLAV, HEALTH_ADVICE, REGISTRATION, EXPERT]),
    money,
    st.sampled_from(["1", "2", "3"]),
)


@st.composite
def scenarios(draw):
    lines = draw(st.lists(line, min_size=1, max_size=4))
    refunded = draw(st.lists(st.integers(0, len(lines) - 1), min_size=1, unique=True))
    split_at = draw(st.integers(1, len(refunded)))
    return {
        "lines": lines,
        "balc": f"{draw(st.integers(0, 60_000)) / 100:.2f}",
        "ytd_dedc": draw(st.sampled_from(["0.00", "150.00", "200.00"])),
        "pay": draw(st.booleans()),
        "refunds": [refunded[:split_at], refunded[split_at:]],
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_refunds_conserve_money_and_the_ledger_verifies(service, his, scenario):
    person, line_limit = service.enrol(balc=scenario["balc"], ytd_dedc=scenario["ytd_dedc"])
    start = snapshot(service, person.psn_no)
    if sum(D(p) * D(c) for _, p, c in scenario["lines"]) > line_limit:
        # Keep the bill within the smallest line (600.00): one line of at most 400.00 × 1.
        code, price, _ = scenario["lines"][0]
        scenario["lines"] = [(code, price, "1")]
        scenario["refunds"] = [[0], []]
    bill_id, sns = bill_for(his, person.psn_no, *scenario["lines"])
    paid = None
    if bill_row(service, bill_id).status == "settled":
        # The insurance accounts covered it: settled when it was made (issue 16 item 4).
        [record] = settlements(service, bill_id)
        paid = record.setlinfo
    elif scenario["pay"]:
        paid = pay(service, login(service, person), bill_id).json()["setlinfo"]

    last = None
    for indexes in scenario["refunds"]:
        if not indexes:
            continue
        response = his.post(
            f"/his/v1/bills/{bill_id}/refunds",
            {"feedetl_sn": [sns[i] for i in indexes], "reason": "property"},
        )
        assert response.status_code == 200, response.text
        last = response.json()
        # Every refunded fen went back somewhere, exactly once.
        assert sum(D(last["returned"][f]) for f in FIELDS) == D(last["refund_amount"])
        assert all(D(last["returned"][f]) >= 0 for f in ("hifp_pay", "psn_cash_pay"))
        if paid is None:
            assert last["returned"]["credit_line"] == last["refund_amount"]
        else:
            assert last["returned"]["credit_line"] == "0.00"

    assert last is not None
    end = snapshot(service, person.psn_no)
    remaining = D(last["medfee_sumamt"])
    assert D(last["setlinfo"]["medfee_sumamt"]) == remaining
    if paid is None:
        assert end.outstanding == remaining
        assert end.pool_posted == start.pool_posted
        assert end.account_posted == start.account_posted
        assert end.wallet_posted == start.wallet_posted
        assert end.balc == start.balc
    else:
        info = last["setlinfo"]
        assert end.outstanding == 0
        # Each source gave exactly what the settlement in force took from it (the pool and the
        # wallet's clearing account are shared by every example, so compare with the start).
        assert end.pool_posted - start.pool_posted == -D(info["hifp_pay"])
        assert end.account_posted - start.account_posted == -D(info["acct_pay"])
        assert end.wallet_posted - start.wallet_posted == -D(info["psn_cash_pay"])
        assert end.balc == start.balc - D(info["acct_pay"])
        assert end.deductible_used == start.deductible_used + D(info["act_pay_dedc"])
        assert end.hifp_paid == start.hifp_paid + D(info["hifp_pay"])
        assert D(info["hifp_pay"]) + D(info["acct_pay"]) + D(info["psn_cash_pay"]) == remaining
    assert end.pending == 0
    assert end.available == line_limit - end.outstanding
    assert_ledger_balanced(service)
