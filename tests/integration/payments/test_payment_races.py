"""Races against PostgreSQL's row locks: one bill, many payers; one order, many callbacks."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from settlement.foundation.errors import ServiceError
from settlement.usecases.paying.payments import deliver_due_callbacks, start_payment
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_for,
    bill_row,
    callback_log,
    notify,
    set_behaviour,
    settlements,
    snapshot,
)
from tests.races import run_together

THREADS = 8


@pytest.mark.postgres
def test_payments_of_one_bill_racing_make_exactly_one_settlement(service, his, postgres_only):
    person, _ = service.enrol(balc="100.00")
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))
    container = service.container

    def pay(index: int) -> str | ServiceError:
        try:
            with container.uow() as uow:
                result = start_payment(
                    uow,
                    container=container,
                    bill_id=bill_id,
                    payer_psn_no=person.psn_no,
                    provider="wechat" if index % 2 else "alipay",
                )
                uow.commit()
                return result.settlement.setl_id
        except ServiceError as refused:  # an outcome, counted below
            return refused

    results = run_together([partial(pay, i) for i in range(THREADS)])

    started = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(started) == 1, results
    assert len(refused) == THREADS - 1
    assert {error.code for error in refused} <= {"bill_not_payable", "bill_settled"}
    deliver_due_callbacks(container)
    assert [s.status for s in settlements(service, bill_id)] == ["posted"]
    assert bill_row(service, bill_id).status == "settled"
    after = snapshot(service, person.psn_no)
    assert after.balc == 0 and after.outstanding == 0
    assert (after.deductible_used, after.hifp_paid) == (Decimal("200.00"), Decimal("50.00"))
    assert_ledger_balanced(service)


@pytest.mark.postgres
def test_two_bills_of_one_patient_paid_together_never_share_the_deductible_or_balance(
    service, his, postgres_only
):
    person, _ = service.enrol(balc="100.00")
    bills = [bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"))[0] for _ in range(2)]
    container = service.container

    def pay(index: int) -> dict[str, str]:
        with container.uow() as uow:
            result = start_payment(
                uow,
                container=container,
                bill_id=bills[index],
                payer_psn_no=person.psn_no,
                provider="wechat",
            )
            uow.commit()
            return result.setlinfo

    first, second = run_together([partial(pay, i) for i in range(2)])
    assert isinstance(first, dict) and isinstance(second, dict), (first, second)
    deliver_due_callbacks(container)
    dedc = sorted(Decimal(info["act_pay_dedc"]) for info in (first, second))
    acct = sorted(Decimal(info["acct_pay"]) for info in (first, second))
    assert dedc == [Decimal("0.00"), Decimal("200.00")]  # one deductible, used once
    assert acct == [Decimal("0.00"), Decimal("100.00")]  # one balance, spent once
    after = snapshot(service, person.psn_no)
    assert after.balc == 0 and after.outstanding == 0
    assert after.deductible_used == Decimal("200.00")
    assert_ledger_balanced(service)


@pytest.mark.postgres
def test_the_same_callback_delivered_concurrently_applies_once(service, his, postgres_only):
    person, _ = service.enrol(balc="0.00")
    bill_id, _ = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30", "1"))
    set_behaviour(service, "delay")
    container = service.container
    with container.uow() as uow:
        order_id = start_payment(
            uow, container=container, bill_id=bill_id, payer_psn_no=person.psn_no, provider="wechat"
        ).payment.payment_id
        uow.commit()

    answers = run_together(
        [lambda: notify(service, order_id=order_id, amount=Decimal("30.00")).status_code] * 5
    )

    assert answers == [200] * 5
    outcomes = sorted(row.outcome for row in callback_log(service))
    assert outcomes == ["applied", "duplicate", "duplicate", "duplicate", "duplicate"]
    assert [s.status for s in settlements(service, bill_id)] == ["posted"]
    assert_ledger_balanced(service)
