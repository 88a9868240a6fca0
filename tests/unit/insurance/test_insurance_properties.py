"""Properties of pricing, the split and refunds over bills of 0-500 random lines.

Prices go up to 9,999,999.99 with up to 6 places, counts have up to 4 places; a line's amount
stays within the contract's 9,999,999.99.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from hypothesis import given
from hypothesis import strategies as st

from insurance.money import FEN, MAX_AMOUNT, quantize_fen, to_fen
from insurance.pricing import FeeLine, PricedLine, price_line
from insurance.refund import resettle
from insurance.split import SETLINFO_FIELDS, Accumulators, RelativeAccount, Settlement, settle
from tests.unit.insurance.builders import CODES, VISIT, demo_policy, sample_catalogue

POLICY = demo_policy()
MICRO = Decimal("0.000001")


def _price_cap(cnt: Decimal) -> int:
    """The highest price, in millionths, that keeps pric × cnt within the contract's maximum."""
    return min(
        int((MAX_AMOUNT / cnt / MICRO).to_integral_value(rounding=ROUND_FLOOR)),
        int(MAX_AMOUNT / MICRO),
    )


@st.composite
def fee_line(draw: st.DrawFn) -> tuple[str, Decimal, Decimal]:
    code = draw(st.sampled_from(CODES))
    cnt_units = draw(st.one_of(st.integers(1, 100_000), st.integers(1, 999_999_999)))
    cnt = Decimal(cnt_units).scaleb(-4)
    top = _price_cap(cnt)
    micro = draw(st.one_of(st.integers(0, min(top, 500_000_000)), st.integers(0, top)))
    return code, Decimal(micro).scaleb(-6), cnt


def price(raw: list[tuple[str, Decimal, Decimal]], start: int = 0) -> list[PricedLine]:
    catalogue = sample_catalogue()
    return [
        price_line(FeeLine(str(start + i), code, "item", pric, cnt), catalogue, POLICY)
        for i, (code, pric, cnt) in enumerate(raw)
    ]


@st.composite
def large_bill(draw: st.DrawFn) -> list[tuple[str, Decimal, Decimal]]:
    """13-500 lines from a drawn seed: Hypothesis' buffer is too small to draw each one."""
    size = draw(st.integers(13, 500))
    rng = random.Random(draw(st.integers(0, 2**32)))
    lines = []
    for _ in range(size):
        cnt = Decimal(rng.choice([rng.randint(1, 100_000), rng.randint(1, 999_999_999)]))
        cnt = cnt.scaleb(-4)
        top = _price_cap(cnt)
        micro = rng.choice([rng.randint(0, min(top, 500_000_000)), rng.randint(0, top)])
        lines.append((rng.choice(CODES), Decimal(micro).scaleb(-6), cnt))
    return lines


bills = st.one_of(st.lists(fee_line(), max_size=12), large_bill())
fen_amounts = st.one_of(st.integers(0, 300_000), st.integers(0, int(MAX_AMOUNT / FEN))).map(
    lambda fen: Decimal(fen).scaleb(-2)
)


@dataclass(frozen=True)
class Person:
    level: int
    psn_type: str
    accumulators: Accumulators
    balance: Decimal
    relatives: tuple[RelativeAccount, ...]


@st.composite
def persons(draw: st.DrawFn) -> Person:
    relatives = draw(
        st.lists(
            st.tuples(st.sampled_from(["spouse", "parent", "child", "other"]), fen_amounts),
            max_size=3,
        )
    )
    return Person(
        level=draw(st.sampled_from([1, 2, 3])),
        psn_type=draw(st.sampled_from(["11", "12"])),
        accumulators=Accumulators(
            2026,
            Decimal(draw(st.integers(0, 25_000))).scaleb(-2),
            Decimal(draw(st.integers(0, 260_000))).scaleb(-2),
        ),
        balance=draw(st.one_of(st.just(Decimal("0.00")), fen_amounts)),
        relatives=tuple(
            RelativeAccount(f"R{i}", relation, balance)
            for i, (relation, balance) in enumerate(relatives)
        ),
    )


def split(lines: list[PricedLine], person: Person, acc: Accumulators | None = None) -> Settlement:
    return settle(
        lines,
        policy=POLICY,
        hospital_level=person.level,
        psn_type=person.psn_type,
        accumulators=person.accumulators if acc is None else acc,
        account_balance=person.balance,
        relatives=person.relatives,
        visit_date=VISIT,
    )


def exact_fen(amount: Decimal) -> bool:
    return amount >= 0 and quantize_fen(amount) == amount


@given(bills)
def test_every_priced_line_satisfies_its_identity_exactly_with_nothing_negative(
    raw: list[tuple[str, Decimal, Decimal]],
) -> None:
    for line in price(raw):
        parts = (
            line.fulamt_ownpay_amt,
            line.overlmt_amt,
            line.preselfpay_amt,
            line.inscp_scp_amt,
        )
        assert line.det_item_fee_sumamt == quantize_fen(line.pric * line.cnt)
        assert line.det_item_fee_sumamt == sum(parts)
        assert all(exact_fen(part) for part in parts)
        to_fen(line.det_item_fee_sumamt)  # exact to the fen, or it raises


@given(bills, persons())
def test_every_identity_of_the_split_holds_exactly_and_every_bound_is_kept(
    raw: list[tuple[str, Decimal, Decimal]], person: Person
) -> None:
    lines = price(raw)
    s = split(lines, person)
    info = s.setlinfo
    before = person.accumulators
    for name in SETLINFO_FIELDS:
        if name != "pool_prop_selfpay":
            assert exact_fen(getattr(info, name)), name

    assert info.medfee_sumamt == sum((line.det_item_fee_sumamt for line in lines), Decimal(0))
    assert info.medfee_sumamt == (
        info.fulamt_ownpay_amt + info.overlmt_selfpay + info.preselfpay_amt + info.inscp_scp_amt
    )
    assert info.fund_pay_sumamt == info.hifp_pay
    assert info.psn_part_amt == info.medfee_sumamt - info.fund_pay_sumamt
    assert info.psn_part_amt == info.acct_pay + info.psn_cash_pay
    assert info.acct_pay == s.acct_own_pay + info.acct_mulaid_pay
    assert info.acct_mulaid_pay == sum((aid.amount for aid in s.mutual_aid), Decimal(0))

    deductible_left = max(Decimal(0), POLICY.deductible - before.deductible_used)
    assert info.act_pay_dedc == min(info.inscp_scp_amt, deductible_left)
    ratio = POLICY.ratio(person.level, person.psn_type)
    exact = (info.inscp_scp_amt - info.act_pay_dedc) * ratio
    # Half-up once per bill: at most half a fen above the exact product, never above its rounding.
    assert info.hifp_pay <= quantize_fen(exact)
    assert info.hifp_pay <= exact + Decimal("0.005")
    assert info.hifp_pay <= max(Decimal(0), POLICY.cap(person.psn_type) - before.hifp_paid)

    assert s.acct_own_pay <= person.balance
    assert info.balc == person.balance - s.acct_own_pay
    for relative, aid in zip(person.relatives, s.mutual_aid, strict=True):
        assert aid.amount <= relative.balance
        assert aid.balc == relative.balance - aid.amount
        if relative.relation not in POLICY.mutual_aid_relations:
            assert aid.amount == 0
    # The account pays first: the wallet pays only when every account that may pay is empty.
    if info.psn_cash_pay > 0:
        assert info.balc == 0
        assert all(
            aid.balc == 0 for aid in s.mutual_aid if aid.relation in POLICY.mutual_aid_relations
        )

    assert s.accumulators == Accumulators(
        2026, before.deductible_used + info.act_pay_dedc, before.hifp_paid + info.hifp_pay
    )


@given(bills, fee_line(), persons())
def test_adding_a_line_never_lowers_the_personal_share(
    raw: list[tuple[str, Decimal, Decimal]],
    extra: tuple[str, Decimal, Decimal],
    person: Person,
) -> None:
    lines = price(raw)
    more = [*lines, *price([extra], start=len(lines))]
    without, with_extra = split(lines, person), split(more, person)
    assert with_extra.setlinfo.psn_part_amt >= without.setlinfo.psn_part_amt
    assert with_extra.setlinfo.medfee_sumamt == (
        without.setlinfo.medfee_sumamt + more[-1].det_item_fee_sumamt
    )


@given(bills, persons())
def test_refunding_every_line_returns_every_source_and_accumulator_to_where_it_started(
    raw: list[tuple[str, Decimal, Decimal]], person: Person
) -> None:
    original = split(price(raw), person)
    result = resettle(original, refunded=[line.feedetl_sn for line in original.lines])
    reversal, again = result.reversal, result.settlement
    assert reversal.hifp_pay == original.setlinfo.hifp_pay
    assert reversal.acct_own_pay == original.acct_own_pay
    assert reversal.psn_cash_pay == original.setlinfo.psn_cash_pay
    assert reversal.mutual_aid == {aid.psn_no: aid.amount for aid in original.mutual_aid}
    assert reversal.accumulators == person.accumulators
    assert reversal.balc == person.balance
    assert reversal.relative_balances == {r.psn_no: r.balance for r in person.relatives}
    assert again.accumulators == person.accumulators
    assert again.setlinfo.balc == person.balance
    assert again.setlinfo.medfee_sumamt == 0
    assert again.setlinfo.psn_part_amt == 0
    assert again.setlinfo.acct_pay == 0


@given(bills, st.data(), persons())
def test_a_partial_refund_settles_the_rest_as_if_the_refunded_lines_were_never_there(
    raw: list[tuple[str, Decimal, Decimal]], data: st.DataObject, person: Person
) -> None:
    original = split(price(raw), person)
    refunded = data.draw(st.sets(st.sampled_from([str(i) for i in range(len(raw))] or ["0"])))
    refunded &= {line.feedetl_sn for line in original.lines}
    result = resettle(original, refunded=refunded)
    fresh = split([line for line in original.lines if line.feedetl_sn not in refunded], person)
    assert result.settlement.setlinfo == fresh.setlinfo
    assert result.settlement.accumulators == fresh.accumulators


@given(bills, bills, persons())
def test_settling_a_then_b_consumes_the_deductible_once_and_the_cap_once(
    raw_a: list[tuple[str, Decimal, Decimal]],
    raw_b: list[tuple[str, Decimal, Decimal]],
    person: Person,
) -> None:
    a = split(price(raw_a), person)
    b = split(price(raw_b, start=len(raw_a)), person, acc=a.accumulators)
    start = person.accumulators
    deductible_left = max(Decimal(0), POLICY.deductible - start.deductible_used)
    assert a.setlinfo.act_pay_dedc + b.setlinfo.act_pay_dedc == min(
        a.setlinfo.inscp_scp_amt + b.setlinfo.inscp_scp_amt, deductible_left
    )
    cap_left = max(Decimal(0), POLICY.cap(person.psn_type) - start.hifp_paid)
    assert a.setlinfo.hifp_pay + b.setlinfo.hifp_pay <= cap_left
    assert b.accumulators.deductible_used == (
        start.deductible_used + a.setlinfo.act_pay_dedc + b.setlinfo.act_pay_dedc
    )
    assert b.accumulators.hifp_paid == start.hifp_paid + a.setlinfo.hifp_pay + b.setlinfo.hifp_pay
