"""Pure parts of payments: callback signatures and how repayment legs pair sources with lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.adapters.wallets import callback_body, sign_callback, signature_ok
from settlement.billing.tables import Bill
from settlement.foundation.errors import ServiceError
from settlement.usecases.paying.payments import plan_legs

SECRET = "wallet-secret-for-tests"
BODY = callback_body(
    order_id="PY1",
    provider_txn_id="T1",
    amount=Decimal("12.30"),
    status="SUCCESS",
    seq=1,
    sent_at=datetime(2026, 11, 23, 1, 30, tzinfo=UTC),
)


def test_a_callback_signed_with_the_shared_secret_verifies():
    assert signature_ok(SECRET, BODY, sign_callback(SECRET, BODY))
    assert signature_ok(SECRET, BODY, sign_callback(SECRET, BODY).upper())


@pytest.mark.parametrize("signature", [None, "", "00" * 32, sign_callback("other", BODY)])
def test_a_missing_or_wrong_signature_does_not_verify(signature):
    assert not signature_ok(SECRET, BODY, signature)


def test_a_changed_body_no_longer_verifies():
    signature = sign_callback(SECRET, BODY)
    assert not signature_ok(SECRET, BODY.replace(b"12.30", b"99.30"), signature)


def test_the_callback_body_carries_the_amount_as_a_two_place_string():
    assert b'"amount":"12.30"' in BODY


def bill(psn_no: str = "P1") -> Bill:
    return Bill(bill_id="BL1", psn_no=psn_no)


def test_one_line_gets_one_leg_per_source():
    amounts = {"hifp": Decimal("50.00"), "acct": Decimal("100.00"), "cash": Decimal("180.00")}
    legs = plan_legs("ST1", bill(), amounts, [("P1", Decimal("330.00"))])
    assert [(leg["id"], leg["amount_fen"]) for leg in legs] == [
        ("pay:ST1:hifp", 5000),
        ("pay:ST1:acct", 10000),
        ("pay:ST1:cash", 18000),
    ]


def test_a_managers_share_is_repaid_to_the_managers_line():
    amounts = {"hifp": Decimal("50.00"), "acct": Decimal("0.00"), "cash": Decimal("50.00")}
    legs = plan_legs("ST1", bill(), amounts, [("P1", Decimal("70.00")), ("M1", Decimal("30.00"))])
    assert [(leg["source"], leg["line"], leg["amount_fen"]) for leg in legs] == [
        ("hifp", "P1", 5000),
        ("cash", "P1", 2000),
        ("cash", "M1", 3000),
    ]
    assert legs[-1]["id"] == "pay:ST1:cash:M1"


def test_sources_and_lines_that_disagree_are_refused():
    with pytest.raises(ServiceError):
        plan_legs("ST1", bill(), {"cash": Decimal("1.00")}, [("P1", Decimal("2.00"))])


fen = st.integers(min_value=0, max_value=1_000_000)


@given(fen, fen, fen, st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=4))
def test_legs_sum_to_each_source_and_to_each_line(hifp, acct, cash, weights):
    total = hifp + acct + cash
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)
    lines = [(f"P{i + 1}", Decimal(s) / 100) for i, s in enumerate(shares)]
    amounts = {
        "hifp": Decimal(hifp) / 100,
        "acct": Decimal(acct) / 100,
        "cash": Decimal(cash) / 100,
    }
    legs = plan_legs("ST1", bill(), amounts, lines)
    for source, expected in (("hifp", hifp), ("acct", acct), ("cash", cash)):
        assert sum(leg["amount_fen"] for leg in legs if leg["source"] == source) == expected
    for psn_no, share in lines:
        assert sum(leg["amount_fen"] for leg in legs if leg["line"] == psn_no) == int(share * 100)
    assert len({leg["id"] for leg in legs}) == len(legs)
    assert all(leg["amount_fen"] > 0 for leg in legs)
