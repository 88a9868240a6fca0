"""The settlement modes: what closing a visit settles, what repayment takes, and refunds before
repayment, exact to the fen (examples, then Hypothesis over random bills and persons)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insurance.errors import InvalidAmountError
from insurance.modes import (
    REPAYMENT,
    VISIT_END,
    at_close,
    at_repayment,
    check_mode,
    refund_fund_share,
)
from insurance.split import Accumulators, Settlement
from tests.unit.insurance.builders import CLASS_C, a_line, priced
from tests.unit.insurance.builders import split as split_of
from tests.unit.insurance.test_insurance_properties import Person, bills, persons, price, split

ZERO = Decimal("0.00")


def _bill() -> Settlement:
    # Level 1, in service: 250.00 in scope (200.00 deductible, then 70 % of 50.00) + 50.00 C.
    return split_of(
        [a_line("250.00", "1"), priced("2", CLASS_C, "50.00")], level=1, balance="100.00"
    )


def test_repayment_mode_puts_the_whole_bill_on_credit_and_settles_nothing_at_close() -> None:
    closing = at_close(_bill(), REPAYMENT)
    assert (closing.fund_pay, closing.act_pay_dedc) == (ZERO, ZERO)
    assert closing.on_credit == Decimal("300.00")
    assert closing.accumulators is None
    assert not closing.fund_settled


def test_visit_end_mode_settles_the_fund_at_close_and_leaves_only_the_personal_part() -> None:
    bill = _bill()
    closing = at_close(bill, VISIT_END)
    assert closing.fund_pay == Decimal("35.00")
    assert closing.act_pay_dedc == Decimal("200.00")
    assert closing.on_credit == Decimal("265.00") == bill.setlinfo.psn_part_amt
    assert closing.accumulators == Accumulators(2026, Decimal("200.00"), Decimal("35.00"))
    assert closing.fund_settled


def test_repayment_takes_the_fund_too_in_repayment_mode_and_only_the_person_in_visit_end() -> None:
    bill = _bill()
    later = at_repayment(bill, REPAYMENT)
    assert (later.hifp, later.acct, later.cash) == (
        Decimal("35.00"),
        Decimal("100.00"),
        Decimal("165.00"),
    )
    assert later.stores_accumulators
    now = at_repayment(bill, VISIT_END)
    assert (now.hifp, now.acct, now.cash) == (ZERO, Decimal("100.00"), Decimal("165.00"))
    assert now.total == Decimal("265.00")
    assert not now.stores_accumulators


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidAmountError, match="settlement_mode"):
        at_close(_bill(), "at_once")
    assert check_mode(VISIT_END) == VISIT_END


def test_a_refund_before_repayment_gives_the_fund_its_share_and_the_rest_off_the_credit() -> None:
    fund_split = split_of([a_line("250.00", "1"), a_line("100.00", "2")], level=1)
    assert fund_split.setlinfo.hifp_pay == Decimal("105.00")  # 150.00 × 70 %
    closed = fund_split.accumulators
    refund = refund_fund_share(
        fund_split, refunded=["2"], accumulators=closed, account_balance=Decimal("10.00")
    )
    assert refund.refunded_amount == Decimal("100.00")
    assert refund.to_fund == Decimal("70.00")  # the fund now pays 35.00 of the 250.00 left
    assert refund.to_credit == Decimal("30.00")
    assert refund.settlement.setlinfo.hifp_pay == Decimal("35.00")
    assert refund.settlement.setlinfo.psn_part_amt == Decimal("215.00")
    assert refund.settlement.acct_own_pay == Decimal("10.00")  # the estimate, at today's balance
    assert refund.accumulators == Accumulators(2026, Decimal("200.00"), Decimal("35.00"))


def test_the_fund_split_is_rebuilt_without_accounts() -> None:
    with pytest.raises(InvalidAmountError, match="without accounts"):
        refund_fund_share(
            _bill(), refunded=["2"], accumulators=_bill().accumulators, account_balance=ZERO
        )


# -- properties ------------------------------------------------------------------------------------


def _fund_only(person: Person) -> Person:
    """The same person as the close sees the fund: no account, no mutual aid."""
    return replace(person, balance=ZERO, relatives=())


@given(bills, persons())
def test_both_modes_pay_the_whole_bill_exactly_and_the_fund_part_is_the_same(
    raw: list, person: Person
) -> None:
    bill = split(price(raw), person)
    info = bill.setlinfo
    for mode in (REPAYMENT, VISIT_END):
        closing, repaying = at_close(bill, mode), at_repayment(bill, mode)
        # fund + own account + mutual aid + wallet = the bill, to the fen, in both modes
        assert closing.fund_pay + repaying.total == info.medfee_sumamt
        assert closing.fund_pay + closing.on_credit == info.medfee_sumamt
        assert repaying.total == closing.on_credit
        # the accumulators are consumed once: at close in visit_end, at repayment otherwise
        assert (closing.accumulators is not None) != repaying.stores_accumulators
    ours, theirs = at_close(bill, VISIT_END), at_repayment(bill, REPAYMENT)
    assert ours.fund_pay == theirs.hifp == info.hifp_pay
    assert ours.act_pay_dedc == info.act_pay_dedc
    assert ours.accumulators == bill.accumulators


@given(bills, persons())
def test_in_visit_end_the_line_holds_exactly_what_the_patient_owes(
    raw: list, person: Person
) -> None:
    lines = price(raw)
    at_the_close = split(lines, _fund_only(person))
    at_the_repayment = split(lines, person)  # the same accumulators, today's balances
    closing = at_close(at_the_close, VISIT_END)
    repaying = at_repayment(at_the_repayment, VISIT_END)
    assert closing.on_credit == at_the_close.setlinfo.psn_part_amt
    assert repaying.total == closing.on_credit  # the account first, then the wallet
    assert repaying.acct <= person.balance
    assert at_the_repayment.setlinfo.hifp_pay == closing.fund_pay


@given(bills, persons(), st.data())
def test_a_refund_before_repayment_returns_each_source_its_share_exactly(
    raw: list, person: Person, data: st.DataObject
) -> None:
    lines = price(raw)
    fund_split = split(lines, _fund_only(person))
    refunded = data.draw(
        st.sets(st.sampled_from([line.feedetl_sn for line in lines]) if lines else st.nothing())
    )
    now = fund_split.accumulators
    refund = refund_fund_share(
        fund_split, refunded=refunded, accumulators=now, account_balance=person.balance
    )
    remaining = [line for line in lines if line.feedetl_sn not in refunded]
    never = split(remaining, _fund_only(person))  # as if the refunded lines had never been
    new = refund.settlement.setlinfo
    assert refund.to_fund + refund.to_credit == refund.refunded_amount
    assert refund.refunded_amount == sum(
        (line.det_item_fee_sumamt for line in lines if line.feedetl_sn in refunded), ZERO
    )
    assert refund.to_fund == fund_split.setlinfo.hifp_pay - new.hifp_pay
    assert refund.to_fund >= 0
    assert refund.to_credit >= 0  # the line only ever gains back
    assert new.hifp_pay == never.setlinfo.hifp_pay
    assert new.act_pay_dedc == never.setlinfo.act_pay_dedc
    assert refund.accumulators == never.accumulators
    # what stays on credit is exactly the remaining personal part
    assert fund_split.setlinfo.psn_part_amt - refund.to_credit == new.psn_part_amt
