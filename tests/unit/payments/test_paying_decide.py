"""The pure decisions of paying (``settlement.usecases.paying.decide``), without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.paying.decide import (
    Callback,
    Contradiction,
    MalformedCallback,
    PendingPayment,
    callback_verdict,
    covered,
    loose_fields,
    parse_callback,
    paying_state,
    provider_refusal,
    resolve_contradiction,
    setlinfo_version,
    settled_state,
    split_changed_refusal,
    split_version,
    start_refusal,
    unpaid_state,
)
from tests.unit.insurance.builders import a_line, split

GOOD = {
    "order_id": "PY1",
    "provider_txn_id": "T1",
    "status": "SUCCESS",
    "seq": 1,
    "amount": "12.30",
}


def refusal_code(**facts: object) -> str | None:
    defaults: dict[str, object] = {
        "bill_id": "BL1",
        "status": "billed",
        "may_pay": True,
        "under_way": None,
    }
    refusal = start_refusal(**{**defaults, **facts})  # type: ignore[arg-type]
    return None if refusal is None else refusal.code


def test_a_billed_or_overdue_bill_the_payer_may_pay_is_payable():
    assert refusal_code() is None
    assert refusal_code(status="overdue") is None


def test_a_missing_bill_and_a_strangers_bill_are_both_not_found():
    assert refusal_code(status=None) == "not_found"
    assert refusal_code(may_pay=False) == "not_found"


def test_a_settled_bill_a_payment_under_way_and_a_refunded_bill_are_refused():
    assert refusal_code(status="settled") == "bill_settled"
    assert refusal_code(status="settled_late") == "bill_settled"
    under_way = PendingPayment("PY1", "ST1")
    assert refusal_code(status="paying", under_way=under_way) == "bill_not_payable"
    refusal = start_refusal(bill_id="BL1", status="paying", may_pay=True, under_way=under_way)
    assert refusal is not None and refusal.details == {"payment_id": "PY1", "setl_id": "ST1"}
    assert refusal_code(status="refunded") == "bill_not_payable"


def test_only_known_wallets_pay():
    assert provider_refusal("wechat", ("wechat", "alipay")) is None
    refusal = provider_refusal("paypal", ("wechat", "alipay"))
    assert refusal is not None and refusal.code == "validation_error"


def test_a_bill_moves_on_time_or_late_through_paying_and_back_when_the_wallet_fails():
    assert (paying_state("billed"), paying_state("overdue")) == ("paying", "paying_late")
    assert (settled_state("paying"), settled_state("paying_late")) == ("settled", "settled_late")
    assert (unpaid_state("paying"), unpaid_state("paying_late")) == ("billed", "overdue")


def test_a_well_formed_callback_is_read_exactly():
    assert parse_callback(GOOD) == Callback("PY1", "T1", True, 1, Decimal("12.30"))
    assert not parse_callback({**GOOD, "status": "FAIL"}).succeeded


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seq": -1}, "seq is a whole number"),
        ({"seq": True}, "seq is a whole number"),
        ({"seq": 2**31}, "seq is a whole number"),
        ({"status": "OK"}, "status is SUCCESS or FAIL"),
        ({"order_id": 7}, "are strings"),
        ({"provider_txn_id": "T\x00"}, "NUL"),
        ({"amount": "1.234"}, "amount"),
    ],
)
def test_a_malformed_callback_says_what_is_wrong(change, message):
    with pytest.raises(MalformedCallback, match=message):
        parse_callback({**GOOD, **change})


def test_a_missing_field_is_named():
    fields = dict(GOOD)
    del fields["seq"]
    with pytest.raises(MalformedCallback, match="'seq'"):
        parse_callback(fields)


def test_the_log_reads_what_it_can_of_any_body():
    assert loose_fields(b'{"order_id": "PY1"}') == {"order_id": "PY1"}
    assert loose_fields(b"[1]") == {}
    assert loose_fields(b"[" * 100_000) == {}
    assert loose_fields(b"\xff") == {}


def verdict(order_status: str, *, succeeded: bool = True, amount: str = "12.30") -> str:
    callback = Callback("PY1", "T1", succeeded, 2, Decimal(amount))
    return callback_verdict(
        order_status=order_status, order_amount_fen=1230, callback=callback
    ).outcome


def test_a_pending_order_takes_the_callback_and_a_repeat_is_a_duplicate():
    assert verdict("pending") == "apply"
    assert verdict("pending", succeeded=False) == "apply"
    assert verdict("succeeded") == "duplicate"
    assert verdict("failed", succeeded=False) == "duplicate"


def test_an_outcome_contradicting_the_recorded_one_is_told_apart():
    assert verdict("failed", succeeded=True) == "contradicts"
    assert verdict("succeeded", succeeded=False) == "contradicts"


@given(
    status=st.sampled_from(["pending", "succeeded", "failed"]),
    succeeded=st.booleans(),
    fen=st.integers(min_value=0, max_value=999_999_999),
)
def test_an_amount_other_than_the_orders_is_always_refused_first(status, succeeded, fen):
    callback = Callback("PY1", "T1", succeeded, 1, Decimal(fen) / 100)
    outcome = callback_verdict(order_status=status, order_amount_fen=1230, callback=callback)
    assert (outcome.outcome == "amount_mismatch") == (fen != 1230)


def amounts(**fen: int) -> dict[str, Decimal]:
    return {key: Decimal(value) / 100 for key, value in fen.items()}


def test_equal_splits_have_equal_versions_and_any_fen_moved_changes_it():
    base = split_version(amounts(hifp=100, acct=50, mulaid=0, cash=30))
    assert base == split_version(amounts(hifp=100, acct=50, cash=30))
    assert len(base) == 16 and int(base, 16) >= 0
    assert split_version(amounts(hifp=100, acct=49, mulaid=1, cash=30)) != base
    shown = {
        "hifp_pay": "1.00",
        "acct_pay": "0.50",
        "acct_mulaid_pay": "0.00",
        "psn_cash_pay": "0.30",
    }
    assert setlinfo_version(shown) == base
    aided = {**shown, "acct_pay": "0.50", "acct_mulaid_pay": "0.01", "psn_cash_pay": "0.30"}
    assert setlinfo_version(aided) == split_version(amounts(hifp=100, acct=49, mulaid=1, cash=30))


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=4, max_size=4))
def test_a_version_names_the_amounts_source_by_source(fen):
    one = amounts(**dict(zip(("hifp", "acct", "mulaid", "cash"), fen, strict=True)))
    swapped = amounts(**dict(zip(("acct", "hifp", "cash", "mulaid"), fen, strict=True)))
    assert (split_version(one) == split_version(swapped)) == (one == swapped)


def test_a_payment_confirming_another_split_is_refused_with_the_new_one():
    assert split_changed_refusal(expected=None, version="a" * 16, setlinfo={}) is None
    assert split_changed_refusal(expected="a" * 16, version="a" * 16, setlinfo={}) is None
    refusal = split_changed_refusal(
        expected="b" * 16, version="a" * 16, setlinfo={"psn_cash_pay": "1.00"}
    )
    assert refusal is not None and refusal.code == "split_changed"
    assert refusal.details == {"split_version": "a" * 16, "setlinfo": {"psn_cash_pay": "1.00"}}


def contradiction(**changes: object) -> str:
    case = {
        "recorded": "failed",
        "provider_status": "succeeded",
        "provider_amount_fen": 1230,
        "order_amount_fen": 1230,
        "bill_owed": True,
        "cash_now_fen": 1230,
        **changes,
    }
    return resolve_contradiction(Contradiction(**case))  # type: ignore[arg-type]


def test_money_taken_on_a_failed_order_pays_the_bill_still_owing_exactly_that():
    assert contradiction() == "applied"


def test_money_taken_on_a_failed_order_goes_back_when_the_bill_is_paid_or_owes_another_amount():
    assert contradiction(bill_owed=False, cash_now_fen=None) == "refunded"
    assert contradiction(cash_now_fen=1229) == "refunded"


def test_the_providers_record_not_the_callbacks_order_decides():
    assert contradiction(provider_status="failed") == "kept"
    assert contradiction(recorded="succeeded", provider_status="succeeded") == "kept"
    assert contradiction(recorded="succeeded", provider_status="failed") == "unresolved"
    assert contradiction(provider_status="pending") == "unresolved"
    assert contradiction(provider_status="unknown", provider_amount_fen=None) == "unresolved"
    assert contradiction(provider_amount_fen=1000) == "unresolved"


@given(
    recorded=st.sampled_from(["succeeded", "failed"]),
    provider_status=st.sampled_from(["succeeded", "failed", "pending", "unknown"]),
    owed=st.booleans(),
    cash=st.integers(min_value=0, max_value=5000),
)
def test_money_is_applied_or_refunded_only_when_the_provider_took_it_on_a_failed_order(
    recorded, provider_status, owed, cash
):
    outcome = contradiction(
        recorded=recorded, provider_status=provider_status, bill_owed=owed, cash_now_fen=cash
    )
    moves_money = outcome in ("applied", "refunded")
    assert moves_money == (recorded == "failed" and provider_status == "succeeded")
    assert outcome != "applied" or (owed and cash == 1230)


# -- a bill the insurance accounts cover (issue 16 item 4) ------------------------------------------


@given(
    fen=st.integers(min_value=1, max_value=200_000),
    balance_fen=st.integers(min_value=0, max_value=300_000),
    deductible_used=st.sampled_from(["0.00", "150.00", "200.00"]),
)
def test_a_split_is_covered_exactly_when_it_leaves_the_wallet_nothing(
    fen: int, balance_fen: int, deductible_used: str
) -> None:
    settlement = split(
        [a_line(f"{Decimal(fen) / 100:.2f}")],
        balance=f"{Decimal(balance_fen) / 100:.2f}",
        deductible_used=deductible_used,
    )
    info = settlement.setlinfo
    assert covered(settlement) == (info.psn_cash_pay == 0)
    if covered(settlement):  # the fund and the account pay it all, to the fen
        assert info.hifp_pay + info.acct_pay == info.medfee_sumamt
