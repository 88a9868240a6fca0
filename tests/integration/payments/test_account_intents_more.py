"""Lost answers of a remote insurance platform at close, racing, and in any order (PostgreSQL).

A bill the fund and the account cover settles at close (issue 16 item 4); when the platform loses
the answer to its debit, the close keeps the bill payable and the ``settle_covered`` retry takes
the debit over by its key. A retried payment racing the movements sweep, and any sequence of
platform outcomes over a bill's payments, leave the account moved by exactly what was settled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.scheduler.covered import sweep_settle_covered
from settlement.scheduler.movements import GRACE, sweep_account_movements
from settlement.usecases.paying.decide import movement_key
from settlement.usecases.paying.payments import deliver_due_callbacks
from tests.integration.payments.intents_support import (
    intents,
    net_moved,
    platform_movements,
    remote_platform,
    sweep_after_grace,
)
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    login,
    pay,
    settlements,
    snapshot,
)
from tests.integration.payments.test_covered_at_close import MET
from tests.integration.payments.test_covered_races import _pay
from tests.integration.payments.test_settlement_modes import reconciled
from tests.races import run_together

D = Decimal
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgres_only")]


def covered_close_lost(service, his, monkeypatch):
    """A 110.00 visit the fund (50.00) and the account (60.00) cover, closed while the platform
    loses the answer to the account's debit."""
    faults = remote_platform(service, monkeypatch)
    person, _ = service.enrol(balc="100.00", ytd_dedc=MET)
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))
    faults.plan("lose_reply")
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code == 200, closed.text
    return person, closed.json()["bill_id"]


def test_a_covered_close_whose_debit_answer_was_lost_is_settled_once_by_the_retry(
    service, his, monkeypatch
):
    person, bill_id = covered_close_lost(service, his, monkeypatch)
    assert bill_row(service, bill_id).status == "billed"  # kept payable, nothing of ours written
    assert settlements(service, bill_id) == []
    [(key, _, amount)] = platform_movements(service, person.psn_no)
    assert amount == D("60.00") and snapshot(service, person.psn_no).balc == D("40.00")

    report = sweep_settle_covered(service.container, service.clock.now())

    assert report.ids == [bill_id]
    [record] = settlements(service, bill_id)
    assert (record.status, record.acct_own_pay_fen) == ("posted", 6000)
    assert key == movement_key(record.setl_id, "pay", person.psn_no)
    assert platform_movements(service, person.psn_no) == [(key, "debit", D("60.00"))]
    assert intents(service, bill_id) == {key: "done"}
    assert bill_row(service, bill_id).status == "settled"
    assert snapshot(service, person.psn_no).balc == D("40.00")
    assert_ledger_balanced(service)
    reconciled(service, his)


def test_a_covered_close_given_back_by_the_sweep_then_settles_with_the_account_moved_once(
    service, his, monkeypatch
):
    person, bill_id = covered_close_lost(service, his, monkeypatch)

    assert sweep_after_grace(service).counts == {"give_back": 1}
    assert snapshot(service, person.psn_no).balc == D("100.00")
    assert sweep_settle_covered(service.container, service.clock.now()).ids == [bill_id]

    assert bill_row(service, bill_id).status == "settled"
    assert net_moved(service, person.psn_no) == D("-60.00")
    assert snapshot(service, person.psn_no).balc == D("40.00")
    assert "pending" not in intents(service, bill_id).values()
    assert_ledger_balanced(service)
    reconciled(service, his)


@pytest.mark.postgres
def test_retried_payments_racing_the_movements_sweep_move_each_account_once(
    service, his, monkeypatch
):
    faults = remote_platform(service, monkeypatch)
    bills = []
    for _ in range(4):
        person, _ = service.enrol(balc="100.00")
        bill_id, _ = bill_for(
            his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
        )
        faults.plan("lose_reply")
        assert pay(service, login(service, person), bill_id).status_code == 503
        bills.append((bill_id, person.psn_no))
    service.clock.advance(GRACE + timedelta(minutes=1))  # the sweep may take any of them

    outcomes = run_together(
        [partial(_pay, service.container, bill_id, psn_no) for bill_id, psn_no in bills]
        + [partial(sweep_account_movements, service.container, service.clock.now())] * 2
    )

    deliver_due_callbacks(service.container, include_delayed=True)
    assert sweep_account_movements(service.container, service.clock.now()).counts == {}
    for (bill_id, psn_no), outcome in zip(bills, outcomes, strict=False):
        assert outcome in ("paying", "settled"), outcome
        assert bill_row(service, bill_id).status == "settled"
        [record] = [r for r in settlements(service, bill_id) if r.status == "posted"]
        assert net_moved(service, psn_no) == -D(record.acct_own_pay_fen) / 100
        assert record.acct_own_pay_fen == 10000
        assert "pending" not in intents(service, bill_id).values()
    assert_ledger_balanced(service)
    reconciled(service, his)


OUTCOMES = st.sampled_from(["succeed", "fail_before", "lose_reply", "timeout"])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    attempts=st.lists(st.tuples(OUTCOMES, st.booleans()), min_size=1, max_size=4),
    balc=st.sampled_from(["0.00", "100.00", "279.99"]),
)
def test_any_sequence_of_platform_outcomes_moves_the_account_by_what_was_settled(
    service, his, monkeypatch, attempts, balc
):
    """Each attempt pays the bill with the platform answering as drawn, then maybe the sweep
    runs (after the grace); at the end the sweep and one good payment: the account moved by
    exactly the settled part, the ledger verifies, the day reconciles."""
    faults = remote_platform(service, monkeypatch)
    person, _ = service.enrol(balc=balc)
    start = snapshot(service, person.psn_no).balc
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))
    headers = login(service, person)
    for outcome, sweep in attempts:
        faults.movements.clear()
        faults.plan(outcome)
        if bill_row(service, bill_id).status != "settled":
            pay(service, headers, bill_id)
        if sweep:
            sweep_after_grace(service)
    faults.movements.clear()
    sweep_after_grace(service)
    if bill_row(service, bill_id).status != "settled":
        assert pay(service, headers, bill_id).status_code == 201

    assert bill_row(service, bill_id).status == "settled"
    [record] = [r for r in settlements(service, bill_id) if r.status == "posted"]
    assert net_moved(service, person.psn_no) == -D(record.acct_own_pay_fen) / 100
    assert snapshot(service, person.psn_no).balc == start - D(record.acct_own_pay_fen) / 100
    assert "pending" not in intents(service, bill_id).values()
    assert_ledger_balanced(service)
    reconciled(service, his)
