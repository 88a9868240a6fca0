"""A ``visit_end`` bill's repayment legs (settlement.usecases.paying.decide.after_fund_at_close):
the fund's legs as settled at close or by a refund before repayment, the other sources over what
each line carries beyond them; no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.billing.tables import Bill
from settlement.foundation.errors import ServiceError
from settlement.usecases.paying.payments import plan_legs

D = Decimal


def bill() -> Bill:
    return Bill(bill_id="BL1", psn_no="P1")


def fund_leg(line: str, fen: int) -> dict[str, object]:
    suffix = "" if line == "P1" else f":{line}"
    return {"id": f"fund:FS1:hifp{suffix}", "source": "hifp", "line": line, "amount_fen": fen}


def test_fund_legs_a_waterfall_would_write_give_the_same_legs_as_paying_without_them():
    amounts = {"hifp": D("50.00"), "acct": D("0.00"), "cash": D("50.00")}
    shares = [("P1", D("70.00")), ("M1", D("30.00"))]
    legs = plan_legs("ST1", bill(), amounts, shares, at_close={"legs": [fund_leg("P1", 5000)]})
    assert [(leg["id"], leg["line"], leg["amount_fen"]) for leg in legs] == [
        ("fund:FS1:hifp", "P1", 5000),
        ("pay:ST1:cash", "P1", 2000),
        ("pay:ST1:cash:M1", "M1", 3000),
    ]


def test_after_a_rebalance_the_rest_repays_each_line_its_share_less_its_fund_legs():
    # The fund's 440.00 went into the relative's line when it carried 900.00; the re-balance
    # then moved 440.00 from the manager's line to it (1340.00 and 160.00 now).
    amounts = {"hifp": D("440.00"), "acct": D("300.00"), "cash": D("760.00")}
    shares = [("P1", D("1340.00")), ("M1", D("160.00"))]
    legs = plan_legs("ST1", bill(), amounts, shares, at_close={"legs": [fund_leg("P1", 44000)]})
    assert [(leg["source"], leg["line"], leg["amount_fen"]) for leg in legs] == [
        ("hifp", "P1", 44000),
        ("acct", "P1", 30000),
        ("cash", "P1", 60000),
        ("cash", "M1", 16000),
    ]


def test_a_managers_fund_leg_stays_where_it_was_paid_though_the_waterfall_would_not_put_it_there():
    amounts = {"hifp": D("60.00"), "cash": D("40.00")}
    shares = [("P1", D("80.00")), ("M1", D("20.00"))]
    at_close = {"legs": [fund_leg("P1", 5000), fund_leg("M1", 1000)]}
    legs = plan_legs("ST1", bill(), amounts, shares, at_close=at_close)
    assert [(leg["source"], leg["line"], leg["amount_fen"]) for leg in legs] == [
        ("hifp", "P1", 5000),
        ("hifp", "M1", 1000),
        ("cash", "P1", 3000),
        ("cash", "M1", 1000),
    ]


def test_fund_legs_other_than_the_splits_fund_share_are_refused():
    amounts = {"hifp": D("50.00"), "cash": D("50.00")}
    with pytest.raises(ServiceError, match="differs from the split"):
        plan_legs(
            "ST1", bill(), amounts, [("P1", D("100.00"))], at_close={"legs": [fund_leg("P1", 4999)]}
        )


@pytest.mark.parametrize(
    "legs",
    [
        [fund_leg("P1", 3000), fund_leg("M1", 2000)],  # M1 carries 10.00 and was repaid 20.00
        [fund_leg("P1", 3000), fund_leg("M2", 2000)],  # M2 carries nothing of the bill
    ],
)
def test_fund_legs_beyond_what_a_line_carries_are_refused(legs):
    amounts = {"hifp": D("50.00"), "cash": D("50.00")}
    shares = [("P1", D("90.00")), ("M1", D("10.00"))]
    with pytest.raises(ServiceError, match="exceed the lines"):
        plan_legs("ST1", bill(), amounts, shares, at_close={"legs": legs})


fen = st.integers(min_value=0, max_value=500_000)


@given(
    st.lists(st.tuples(fen, fen), min_size=1, max_size=3),  # per line: fund leg, rest
    st.integers(min_value=0, max_value=100),
)
def test_every_line_gets_back_its_share_and_every_source_pays_its_amount(lines, acct_weight):
    names = ["P1", *(f"M{i}" for i in range(1, len(lines)))]
    shares = [(name, D(leg + rest) / 100) for name, (leg, rest) in zip(names, lines, strict=True)]
    fund = [fund_leg(name, leg) for name, (leg, _) in zip(names, lines, strict=True) if leg]
    rest = sum(r for _, r in lines)
    acct = rest * acct_weight // 100
    amounts = {
        "hifp": D(sum(leg for leg, _ in lines)) / 100,
        "acct": D(acct) / 100,
        "cash": D(rest - acct) / 100,
    }
    legs = plan_legs("ST1", bill(), amounts, shares, at_close={"legs": fund})
    assert legs[: len(fund)] == fund
    for name, share in shares:
        assert sum(leg["amount_fen"] for leg in legs if leg["line"] == name) == int(share * 100)
    for source in ("hifp", "acct", "cash"):
        paid = sum(leg["amount_fen"] for leg in legs if leg["source"] == source)
        assert paid == int(amounts[source] * 100)
    assert len({leg["id"] for leg in legs}) == len(legs)
    assert all(leg["amount_fen"] > 0 for leg in legs)
