"""A refund's checks and its ledger batch (settlement.usecases.refunding.decide), no database."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from settlement.usecases.refunding.decide import (
    PostedCharge,
    refund_batch,
    request_refusal,
    reversals,
)

LINES = {"1": "billed", "2": "billed", "3": "refunded", "4": "cancelled"}


def code(sns: list[str], status: str = "settled") -> str | None:
    refusal = request_refusal("BL1", sns, LINES, bill_status=status)
    return None if refusal is None else refusal.code


def test_a_refund_request_is_refused_in_the_order_the_his_sees_it():
    assert code(["1", "1"], status="paying") == "validation_error"
    assert code(["9"], status="paying") == "conflict"
    assert code(["3", "9"], status="paying_late") == "conflict"
    assert code(["3", "4"]) == "unknown_fee_line"
    assert code(["3", "9"]) == "unknown_fee_line"
    assert code(["1", "3"]) == "already_refunded"
    assert code(["1", "2"]) is None


def test_an_unknown_line_is_named_with_its_path():
    refusal = request_refusal("BL1", ["1", "4"], LINES, bill_status="billed")
    assert refusal is not None
    assert refusal.details["feedetl_sn"] == ["4"]
    assert refusal.details["fields"][0]["path"] == "feedetl_sn.1"


fens = st.integers(min_value=1, max_value=10**7)


@given(st.lists(fens, max_size=4), st.lists(fens, max_size=4), st.lists(fens, max_size=4))
def test_the_batch_reverses_the_charges_then_settles_anew_then_reverses_the_old_legs(
    charged, new, old
):
    charges = [
        PostedCharge(f"hold:M:{i}", f"post:hold:M:{i}", 1, 2, Decimal(fen) / 100)
        for i, fen in enumerate(charged)
    ]
    new_legs = [
        {"id": f"n{i}", "source": "acct", "line": "P", "amount_fen": f} for i, f in enumerate(new)
    ]
    old_legs = [
        {"id": f"o{i}", "source": "hifp", "line": "P", "amount_fen": f} for i, f in enumerate(old)
    ]
    accounts = {"acct": "patient:P:insurance_account", "hifp": "fund:pool"}
    batch = refund_batch(
        "BL1", charges=charges, new_legs=new_legs, old_legs=old_legs, accounts=accounts
    )
    kinds = [transfer.code for transfer in batch]
    assert kinds == ["refund"] * len(charged) + ["repay_acct"] * len(new) + [
        "repay_reversal"
    ] * len(old)
    for charge, transfer in zip(charges, batch, strict=False):
        assert (transfer.debit_account, transfer.credit_account) == (2, 1)
        assert transfer.amount == charge.amount and transfer.reverses_id == charge.transfer_id
    reversals = batch[len(charged) + len(new) :]
    assert sum(t.amount or 0 for t in reversals) == Decimal(sum(old)) / 100
    assert all(t.reverses_id == leg["id"] for t, leg in zip(reversals, old_legs, strict=True))


@given(st.lists(st.tuples(fens, st.sampled_from(["line:A", "line:B", "line:C"])), max_size=12))
def test_a_refund_before_payment_reverses_every_charge_once_and_nets_each_account_to_zero(
    charged,
):
    """However many holds the refunded lines have (own and shared, on several lines), one
    reversal per charge, each naming it and moving its amount back: every account's net over
    the charges and their reversals is zero to the fen."""
    charges = [
        PostedCharge(f"hold:M:{i}", f"post:hold:M:{i}", line, "sales:M", Decimal(fen) / 100)
        for i, (fen, line) in enumerate(charged)
    ]
    batch = reversals("BL1", charges)
    assert [t.id for t in batch] == [f"refund:hold:M:{i}" for i in range(len(charges))]
    assert [t.reverses_id for t in batch] == [charge.transfer_id for charge in charges]
    assert all(t.code == "refund" and t.reference == "BL1" for t in batch)
    net: dict[object, Decimal] = {}
    for charge, transfer in zip(charges, batch, strict=True):
        for debit, credit, amount in (
            (charge.debit_account, charge.credit_account, charge.amount),
            (transfer.debit_account, transfer.credit_account, transfer.amount or Decimal(0)),
        ):
            net[debit] = net.get(debit, Decimal(0)) - amount
            net[credit] = net.get(credit, Decimal(0)) + amount
    assert all(value == 0 for value in net.values())
