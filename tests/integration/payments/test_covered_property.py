"""The decision of issue 16 item 4 for any bill and balance: either the wallet has a part and the
bill waits for the patient with nothing taken, or the bill is settled when it is made, its parts
(pooled fund, personal account) summing to its total exactly, the account debited by its part
and the line released."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
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
    settlements,
    snapshot,
)

D = Decimal
money = st.integers(min_value=1, max_value=20_000).map(lambda fen: f"{D(fen) / 100:.2f}")
line = st.tuples(
    st.sampled_from([AMOXICILLIN, CO_AMOXICLAV, HEALTH_ADVICE, REGISTRATION, EXPERT]),
    money,
    st.sampled_from(["1", "2"]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lines=st.lists(line, min_size=1, max_size=3),
    balc_fen=st.one_of(st.just(0), st.integers(0, 60_000), st.integers(60_000, 300_000)),
    ytd_dedc=st.sampled_from(["0.00", "150.00", "200.00"]),
)
def test_a_bill_either_waits_for_the_wallet_or_settles_when_made_to_the_fen(
    service, his, lines, balc_fen, ytd_dedc
):
    balc = f"{D(balc_fen) / 100:.2f}"
    person, line_limit = service.enrol(balc=balc, ytd_dedc=ytd_dedc)
    if sum(D(price) * D(cnt) for _, price, cnt in lines) > line_limit:
        lines = [(lines[0][0], lines[0][1], "1")]  # within the smallest line (600.00)
    before = snapshot(service, person.psn_no)

    bill_id, _ = bill_for(his, person.psn_no, *lines)

    bill = bill_row(service, bill_id)
    total = D(bill.estimate["medfee_sumamt"])
    cash = D(bill.estimate["psn_cash_pay"])
    after = snapshot(service, person.psn_no)
    event("waits for the wallet" if cash > 0 else "settled when made")
    if cash > 0:
        assert bill.status == "billed"
        assert settlements(service, bill_id) == []
        assert after.balc == before.balc  # nothing taken or reserved
        assert after.outstanding == total
    else:
        assert bill.status == "settled"
        [record] = settlements(service, bill_id)
        assert (record.status, record.channel, record.psn_cash_pay_fen) == (
            "posted",
            "insurance",
            0,
        )
        assert record.acct_mulaid_pay_fen == 0
        assert record.hifp_pay_fen + record.acct_own_pay_fen == record.medfee_sumamt_fen
        assert D(record.medfee_sumamt_fen) / 100 == total
        assert after.balc == before.balc - D(record.acct_own_pay_fen) / 100
        assert after.outstanding == 0 and after.pending == 0
        assert after.available == line_limit
    assert_ledger_balanced(service)
