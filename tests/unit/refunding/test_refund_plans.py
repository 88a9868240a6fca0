"""A refund planned in pure code (settlement.usecases.refunding.decide), no database.

Where money moves: before settlement the reversals move back exactly the refunded lines' total,
each charge once; after settlement the sources get back exactly the refunded lines' total between
them, none more than it paid, the wallet what its refund says, every old leg is reversed once
and the patient's line nets to zero over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from insurance.money import from_fen, to_fen
from insurance.split import Settlement
from settlement.billing import bill_states
from settlement.foundation.errors import ServiceError
from settlement.ledger import chart
from settlement.usecases.paying.decide import plan_legs, taken_amounts
from settlement.usecases.refunding.decide import (
    AfterPlan,
    PostedCharge,
    RefundedLine,
    SettledFacts,
    decide_after,
    decide_before,
)
from tests.unit.insurance.builders import CLASS_A, CLASS_B, CLASS_C, priced, split

PATIENT = "P1"
SALES = chart.visit_sales("MD1")
LINE = chart.patient_line(PATIENT)


@dataclass(frozen=True)
class _Bill:
    bill_id: str = "BL1"
    psn_no: str = PATIENT
    status: str = bill_states.SETTLED


@dataclass(frozen=True)
class _Record:
    setl_id: str
    lines: list[str]
    transfers: list[dict[str, Any]] = field(default_factory=list)
    payer_psn_no: str = PATIENT


def _charges(chosen: list[RefundedLine], shared: dict[str, int]) -> list[PostedCharge]:
    """Each chosen line's posted charges: its own part on the patient's line (if any), then its
    part on a manager's line."""
    charges = []
    for line in chosen:
        on_manager = shared.get(line.feedetl_sn, 0)
        parts = [(f"hold:{line.feedetl_sn}", LINE, line.amount_fen - on_manager)]
        parts.append((f"shared:{line.feedetl_sn}", chart.patient_line("M1"), on_manager))
        charges += [
            PostedCharge(hold, f"post:{hold}", account, SALES, from_fen(fen))
            for hold, account, fen in parts
            if fen > 0
        ]
    return charges


@st.composite
def unpaid_refunds(draw: st.DrawFn) -> tuple[list[RefundedLine], int, dict[str, int], str]:
    amounts = draw(st.lists(st.integers(1, 10**7), min_size=1, max_size=8))
    lines = [RefundedLine(str(n), fen) for n, fen in enumerate(amounts)]
    chosen = draw(st.lists(st.sampled_from(lines), min_size=1, unique=True))
    shared = {
        line.feedetl_sn: draw(st.integers(0, line.amount_fen))
        for line in lines
        if draw(st.booleans())
    }
    status = draw(st.sampled_from([bill_states.BILLED, bill_states.OVERDUE]))
    return chosen, len(lines) - len(chosen), shared, status


@given(unpaid_refunds(), st.booleans())
def test_a_refund_before_settlement_moves_back_exactly_its_lines_each_charge_once(
    refund: tuple[list[RefundedLine], int, dict[str, int], str], frozen: bool
):
    chosen, left, shared, status = refund
    charges = _charges(chosen, shared)
    plan = decide_before(
        "BL1",
        bill_status=status,
        chosen=chosen,
        left=left,
        shared=shared.keys(),
        charges=charges,
        reason="检查取消",
        managers_frozen=frozen,
    )
    total = sum(line.amount_fen for line in chosen)
    assert plan.amount_fen == total
    assert sum(to_fen(t.amount or Decimal(0)) for t in plan.reversals) == total
    assert plan.returned.credit_line == from_fen(total)
    # Nothing twice: one reversal per charge, each naming its own.
    assert len({t.id for t in plan.reversals}) == len(plan.reversals) == len(charges)
    assert [t.reverses_id for t in plan.reversals] == [c.transfer_id for c in charges]
    assert plan.refunded == tuple(line.feedetl_sn for line in chosen)
    assert set(plan.forget) == set(plan.refunded) & shared.keys()
    assert plan.target == (status if left else bill_states.REFUNDED)
    overdue = status == bill_states.OVERDUE
    assert plan.debt_gone == (overdue and not left)
    assert plan.frees_managers == (overdue and frozen)
    assert plan.detail == {"feedetl_sn": list(plan.refunded), "reason": "检查取消"}


CODES = [CLASS_A, CLASS_B, CLASS_C]
ACCOUNTS = {
    "hifp": chart.POOLED_FUND,
    "acct": chart.patient_insurance_account(PATIENT),
    "mulaid": chart.patient_insurance_account("M1"),
    "cash": chart.wallet_clearing("wechat"),
}


@st.composite
def paid_bills(draw: st.DrawFn) -> tuple[Settlement, int, list[str]]:
    """A settlement of a few lines of any class, the balance the patient had before it, and the
    lines to refund."""
    lines = [
        priced(str(n), draw(st.sampled_from(CODES)), draw(st.integers(1, 3000)))
        for n in range(draw(st.integers(1, 6)))
    ]
    balance_fen = draw(st.integers(0, 500_000))
    original = split(
        lines,
        balance=str(from_fen(balance_fen)),
        deductible_used=str(draw(st.sampled_from([0, 100, 5000]))),
    )
    refunded = draw(st.lists(st.sampled_from([line.feedetl_sn for line in lines]), unique=True))
    return original, balance_fen, refunded or [lines[0].feedetl_sn]


def _after(original: Settlement, balance_fen: int, refunded: list[str]) -> tuple[Any, ...]:
    amounts = {line.feedetl_sn: to_fen(line.det_item_fee_sumamt) for line in original.lines}
    old_legs = plan_legs(
        "ST0", _Bill(), taken_amounts(original), [(PATIENT, original.setlinfo.medfee_sumamt)]
    )
    record = _Record("ST0", list(amounts), old_legs)
    chosen = [RefundedLine(sn, amounts[sn]) for sn in refunded]
    remaining_fen = sum(fen for sn, fen in amounts.items() if sn not in refunded)
    facts = SettledFacts(
        original=original,
        accumulators=original.accumulators,  # as the payment left them
        account_balance=from_fen(balance_fen) - original.acct_own_pay,
        relatives=(),
        charges=_charges(chosen, {}),
        shares=[(PATIENT, from_fen(remaining_fen))] if remaining_fen else [],
        accounts=ACCOUNTS,
    )
    plan = decide_after(_Bill(), record, facts, chosen=chosen, new_setl_id="ST1", reason="检查取消")
    return plan, record, chosen, remaining_fen


@settings(max_examples=150, deadline=None)
@given(paid_bills())
def test_a_refund_after_settlement_gives_back_exactly_its_lines_none_more_than_it_paid(
    paid: tuple[Settlement, int, list[str]],
):
    plan, record, chosen, remaining_fen = _after(*paid)
    if isinstance(plan, ServiceError):  # the re-settlement would take more from the wallet
        assert plan.code == "conflict"
        return
    assert isinstance(plan, AfterPlan)
    total = sum(line.amount_fen for line in chosen)
    back = {source: plan.old_pay[source] - plan.new_pay[source] for source in plan.old_pay}
    # The parts add up exactly: between them the sources get back the refunded lines' total.
    assert sum(back.values()) == from_fen(total) == from_fen(plan.amount_fen)
    # No source gets back more than it paid; the pool and the wallet never pay more.
    assert all(back[source] <= plan.old_pay[source] for source in back)
    assert back["hifp"] >= 0 and back["cash"] >= 0
    assert plan.wallet_refund == back["cash"] == plan.returned.psn_cash_pay
    assert plan.returned.hifp_pay == back["hifp"]
    assert plan.returned.acct_pay == back["acct"] + back["mulaid"]
    # The personal account moves once, by exactly what it gets back.
    assert [(i.psn_no, i.amount_fen) for i in plan.intents] == (
        [(PATIENT, abs(to_fen(back["acct"])))] if back["acct"] else []
    )
    # What remains is settled anew; nothing remaining, nothing settled and the bill refunded.
    assert plan.remaining == tuple(sn for sn in record.lines if sn not in plan.refunded)
    assert (plan.setl_id is None) == (not plan.remaining) == (remaining_fen == 0)
    assert plan.target == (bill_states.REFUNDED if not plan.remaining else bill_states.SETTLED)
    assert sum(leg["amount_fen"] for leg in plan.legs) == remaining_fen
    _assert_batch(plan, record, total)


def _assert_batch(plan: AfterPlan, record: _Record, total: int) -> None:
    """Every charge and every old leg reversed once, no id twice, and the patient's line nets
    to zero (the bill was repaid)."""
    ids = [transfer.id for transfer in plan.batch]
    assert len(set(ids)) == len(ids)
    reversed_legs = [t.reverses_id for t in plan.batch if t.code == "repay_reversal"]
    assert reversed_legs == [leg["id"] for leg in record.transfers]
    assert sum(to_fen(t.amount or 0) for t in plan.batch if t.code == "refund") == total
    net = 0
    for transfer in plan.batch:
        fen = to_fen(transfer.amount or 0)
        net += (transfer.credit_account == LINE) * fen - (transfer.debit_account == LINE) * fen
    assert net == 0
    assert set(plan.accounts) <= set(ACCOUNTS) and "mulaid" not in plan.accounts


def test_a_refund_after_settlement_of_every_line_settles_nothing_anew():
    original = split([priced("1", CLASS_A, 300), priced("2", CLASS_C, 30)], balance="100.00")
    plan, _, _, _ = _after(original, 10_000, ["1", "2"])
    assert isinstance(plan, AfterPlan)
    assert (plan.setl_id, plan.remaining, plan.legs) == (None, (), [])
    assert plan.target == bill_states.REFUNDED
    assert plan.detail["setl_id"] is None and plan.detail["reversed_setl_id"] == "ST0"
    assert plan.new_pay == dict.fromkeys(plan.new_pay, Decimal("0.00"))
