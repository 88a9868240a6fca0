"""Races on PostgreSQL around a bill the insurance accounts cover (issue 16 item 4): closes
racing closes, a close racing a payment of the patient's other bill, payments racing the
scheduler's retry. Each bill is settled once, no account is overspent, nobody deadlocks."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from settlement.access.hospitals import get_hospital
from settlement.foundation.errors import ServiceError
from settlement.scheduler.auto_close import sweep_auto_close
from settlement.scheduler.covered import sweep_settle_covered
from settlement.usecases.paying import closing
from settlement.usecases.paying.payments import deliver_due_callbacks, start_payment
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    settlements,
    snapshot,
)
from tests.integration.payments.test_covered_at_close import MET
from tests.integration.payments.test_covered_retries import close_while_down
from tests.integration.scheduler.support import outbox
from tests.races import run_together

D = Decimal
THREADS = 6


def _close(container, hospital_code: str, mdtrt_id: str) -> str:
    with container.uow() as uow:
        hospital = get_hospital(uow.session, hospital_code)
        assert hospital is not None
        closed = closing.close_visit(uow, container=container, hospital=hospital, mdtrt_id=mdtrt_id)
        uow.commit()
        return closed.bill.bill_id


def _pay(container, bill_id: str, psn_no: str) -> str:
    try:
        with container.uow() as uow:
            result = start_payment(
                uow, container=container, bill_id=bill_id, payer_psn_no=psn_no, provider="wechat"
            )
            uow.commit()
            return result.bill.status
    except ServiceError as refused:  # an outcome, counted by the test
        return refused.code


@pytest.mark.postgres
def test_closes_racing_the_auto_close_make_one_bill_settled_once(service, his, postgres_only):
    person, line = service.enrol(balc="100.00", ytd_dedc=MET)
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))
    service.advance(hours=20)  # past the end of the visit's day: the sweep closes it too
    container = service.container
    sweep = partial(sweep_auto_close, container, service.clock.now())
    closes = [partial(_close, container, his.code, mdtrt_id) for _ in range(THREADS - 1)]

    results = run_together([*closes, sweep])

    bill_ids = set(results[:-1])
    assert len(bill_ids) == 1
    [bill_id] = bill_ids
    assert bill_row(service, bill_id).status == "settled"
    assert [s.status for s in settlements(service, bill_id)] == ["posted"]
    after = snapshot(service, person.psn_no)
    assert (after.balc, after.outstanding, after.available) == (D("40.00"), 0, line)
    assert len(outbox(service, kind="settled_by_insurance")) == 2
    assert_ledger_balanced(service)


@pytest.mark.postgres
def test_a_close_racing_a_payment_of_the_patients_other_bill_never_overspends(
    service, his, postgres_only
):
    person, _ = service.enrol(balc="100.00", ytd_dedc=MET)
    # A 200.00 self-paid bill waiting for the wallet, and a 110.00 visit the account covers.
    waiting, _ = bill_for(his, person.psn_no, (HEALTH_ADVICE, "200", "1"))
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))
    container = service.container

    closed_id, paid = run_together(
        [
            partial(_close, container, his.code, mdtrt_id),
            partial(_pay, container, waiting, person.psn_no),
        ]
    )
    deliver_due_callbacks(container)

    assert paid in ("paying", "settled")
    closed = bill_row(service, closed_id)
    took = {
        bill_id: sum(s.acct_own_pay_fen for s in settlements(service, bill_id))
        for bill_id in (waiting, closed_id)
    }
    # Whichever ran first, the account paid 100.00 in all, never more, each bill at most once.
    assert sum(took.values()) == 10000
    assert snapshot(service, person.psn_no).balc == 0
    assert all(len(settlements(service, b)) <= 1 for b in (waiting, closed_id))
    if closed.status == "settled":  # the close ran first: 60.00 of the account, 40.00 left
        assert took == {closed_id: 6000, waiting: 4000}
    else:  # the payment ran first and took the whole account: the new bill waits
        assert closed.status == "billed" and took == {closed_id: 0, waiting: 10000}
    assert_ledger_balanced(service)


@pytest.mark.postgres
def test_payments_racing_the_schedulers_retry_settle_once(service, his, postgres_only, monkeypatch):
    person, _, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]
    container = service.container
    now = service.clock.now()
    payments = [partial(_pay, container, bill_id, person.psn_no) for _ in range(THREADS - 1)]

    results = run_together([*payments, partial(sweep_settle_covered, container, now)])

    outcomes = results[:-1]
    swept = results[-1]
    settled_by_payment = outcomes.count("settled")
    assert settled_by_payment + len(swept.ids) == 1, (outcomes, swept.counts)
    assert set(outcomes) <= {"settled", "bill_settled", "bill_not_payable"}
    assert bill_row(service, bill_id).status == "settled"
    assert [s.status for s in settlements(service, bill_id)] == ["posted"]
    assert snapshot(service, person.psn_no).balc == D("40.00")
    assert_ledger_balanced(service)
