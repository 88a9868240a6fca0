"""Personal-account movements on a remote insurance platform that loses its answers.

The platform moves money outside our transaction: a debit whose answer is lost leaves the account
debited while the payment rolls back. Each movement is recorded before the call (on a connection
of its own) with a key derived from its settlement; a retry asks again with the same key (the
platform moves nothing more), and the sweep resolves what nobody retried by asking the platform by
key: a debit made for a payment that never committed is given back. PostgreSQL only: a remote
platform needs a second writer.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from settlement.usecases.paying.decide import movement_key
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
from tests.integration.payments.test_refunds import refund
from tests.integration.payments.test_settlement_modes import reconciled

D = Decimal


def drug_refund(sn: str) -> dict:
    return {"feedetl_sn": [sn], "reason": "检查取消"}


pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgres_only")]


def story(service, his, *, balc="100.00"):
    """A 330.00 bill (fund 50.00, personal share 280.00): the account pays its balance (up to
    280.00), the wallet the rest."""
    person, _ = service.enrol(balc=balc)
    bill_id, sns = bill_for(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    return person, bill_id, sns


def lost_payment(service, his, monkeypatch, *, balc="100.00"):
    """A payment whose personal-account debit the platform made and whose answer it lost."""
    faults = remote_platform(service, monkeypatch)
    person, bill_id, sns = story(service, his, balc=balc)
    faults.plan("lose_reply")
    headers = login(service, person)
    lost = pay(service, headers, bill_id, key=f"pay-{bill_id}")
    assert lost.status_code == 503, lost.text
    assert lost.json()["error"]["code"] == "insurance_platform_unavailable"
    return faults, person, headers, bill_id, sns


def test_a_lost_answer_leaves_the_debit_made_nothing_of_ours_and_the_intent_pending(
    service, his, monkeypatch
):
    _, person, _, bill_id, _ = lost_payment(service, his, monkeypatch)

    assert snapshot(service, person.psn_no).balc == D("0.00")  # the platform did debit
    assert settlements(service, bill_id) == []
    assert bill_row(service, bill_id).status == "billed"
    [(key, way, amount)] = platform_movements(service, person.psn_no)
    assert (way, amount) == ("debit", D("100.00"))
    assert intents(service, bill_id) == {key: "pending"}


def test_a_retried_payment_reuses_the_key_and_the_account_moves_once(service, his, monkeypatch):
    _, person, headers, bill_id, _ = lost_payment(service, his, monkeypatch)
    [(key, _, _)] = platform_movements(service, person.psn_no)

    retried = pay(service, headers, bill_id, key=f"pay-{bill_id}")  # the same request again

    assert retried.status_code == 201, retried.text
    info = retried.json()["setlinfo"]
    assert (info["acct_pay"], info["psn_cash_pay"]) == ("100.00", "180.00")
    # The settlement took over the earlier attempt's id, so its key: no second debit.
    assert key == movement_key(info["setl_id"], "pay", person.psn_no)
    assert platform_movements(service, person.psn_no) == [(key, "debit", D("100.00"))]
    assert intents(service, bill_id) == {key: "done"}
    assert bill_row(service, bill_id).status == "settled"
    [record] = settlements(service, bill_id)
    assert (record.status, record.acct_own_pay_fen) == ("posted", 10000)
    after = snapshot(service, person.psn_no)
    assert (after.balc, after.account_posted) == (D("0.00"), D("-100.00"))
    assert_ledger_balanced(service)
    reconciled(service, his)


def test_an_abandoned_payment_is_resolved_by_the_sweep_the_debit_given_back(
    service, his, monkeypatch
):
    _, person, headers, bill_id, _ = lost_payment(service, his, monkeypatch)
    [(key, _, _)] = platform_movements(service, person.psn_no)

    report = sweep_after_grace(service)

    assert report.counts == {"give_back": 1}
    assert snapshot(service, person.psn_no).balc == D("100.00")
    assert platform_movements(service, person.psn_no) == [
        (key, "debit", D("100.00")),
        (f"{key}:back", "credit", D("100.00")),
    ]
    assert intents(service, bill_id) == {key: "returned", f"{key}:back": "done"}
    assert bill_row(service, bill_id).status == "billed"  # still the patient's to pay
    assert settlements(service, bill_id) == []
    assert sweep_after_grace(service).counts == {}  # nothing left to resolve
    assert_ledger_balanced(service)

    paid = pay(service, headers, bill_id)  # and paying later takes the account afresh
    assert paid.status_code == 201, paid.text
    assert paid.json()["setlinfo"]["acct_pay"] == "100.00"
    assert bill_row(service, bill_id).status == "settled"
    assert net_moved(service, person.psn_no) == D("-100.00")
    assert_ledger_balanced(service)
    reconciled(service, his)


def test_a_debit_refused_before_it_left_is_marked_failed_and_retried_with_its_key(
    service, his, monkeypatch
):
    faults = remote_platform(service, monkeypatch)
    person, bill_id, _ = story(service, his)
    faults.plan("timeout")  # the request never reached the platform, and nobody knows
    headers = login(service, person)
    assert pay(service, headers, bill_id).status_code == 503
    assert platform_movements(service, person.psn_no) == []
    [key] = intents(service, bill_id)

    assert sweep_after_grace(service).counts == {"failed": 1}
    assert intents(service, bill_id) == {key: "failed"}
    assert snapshot(service, person.psn_no).balc == D("100.00")
    assert pay(service, headers, bill_id).status_code == 201
    assert net_moved(service, person.psn_no) == D("-100.00")
    assert bill_row(service, bill_id).status == "settled"
    assert_ledger_balanced(service)


def test_a_platform_that_cannot_be_asked_leaves_the_movement_for_the_next_tick(
    service, his, monkeypatch
):
    faults, person, headers, bill_id, _ = lost_payment(service, his, monkeypatch)
    faults.queries.append("timeout")

    assert sweep_after_grace(service).counts == {"wait": 1}
    assert snapshot(service, person.psn_no).balc == D("0.00")
    assert list(intents(service, bill_id).values()) == ["pending"]
    faults.queries.append("timeout")
    refused = pay(service, headers, bill_id)  # nor does a retry guess: it asks, and waits
    assert refused.status_code == 503, refused.text
    assert sweep_after_grace(service).counts == {"give_back": 1}
    assert snapshot(service, person.psn_no).balc == D("100.00")
    assert_ledger_balanced(service)


def test_a_refunds_lost_credit_is_asked_again_with_its_key_and_moves_once(
    service, his, monkeypatch
):
    faults = remote_platform(service, monkeypatch)
    person, bill_id, (drug, _) = story(service, his, balc="100.00")
    assert pay(service, login(service, person), bill_id).status_code == 201
    assert bill_row(service, bill_id).status == "settled"
    [paid] = settlements(service, bill_id)
    faults.plan("lose_reply")

    # 300.00 class A: the account gets back what 30.00 leaves
    lost = his.post(f"/his/v1/bills/{bill_id}/refunds", drug_refund(drug), key="refund-1")

    assert lost.status_code == 503, lost.text
    credited = snapshot(service, person.psn_no).balc
    assert credited > D("0.00")  # the platform credited; our refund rolled back
    key = movement_key(paid.setl_id, "refund", person.psn_no)
    assert intents(service, bill_id)[key] == "pending"

    # The HIS sends the same request again: a 503 was no answer, so the refund runs now.
    again = his.post(f"/his/v1/bills/{bill_id}/refunds", drug_refund(drug), key="refund-1")

    assert again.status_code == 200, again.text
    assert snapshot(service, person.psn_no).balc == credited
    assert [m for m in platform_movements(service, person.psn_no) if m[0] == key] == [
        (key, "credit", credited)
    ]
    assert intents(service, bill_id)[key] == "done"
    assert_ledger_balanced(service)
    reconciled(service, his)


def test_an_abandoned_refunds_credit_is_taken_back_by_the_sweep(service, his, monkeypatch):
    faults = remote_platform(service, monkeypatch)
    person, bill_id, (drug, _) = story(service, his, balc="100.00")
    assert pay(service, login(service, person), bill_id).status_code == 201
    [paid] = settlements(service, bill_id)
    faults.plan("lose_reply")
    assert refund(his, bill_id, drug).status_code == 503

    assert sweep_after_grace(service).counts == {"give_back": 1}

    # The refund never happened: the bill stays settled whole and the account as it was paid.
    assert snapshot(service, person.psn_no).balc == D("0.00")
    assert [record.status for record in settlements(service, bill_id)] == ["posted"]
    assert settlements(service, bill_id)[0].setl_id == paid.setl_id
    assert net_moved(service, person.psn_no) == D("-100.00")
    assert_ledger_balanced(service)
    reconciled(service, his)


def test_a_refund_retried_after_the_sweep_took_its_credit_back_is_made_anew_once(
    service, his, monkeypatch
):
    faults = remote_platform(service, monkeypatch)
    person, bill_id, (drug, _) = story(service, his, balc="100.00")
    assert pay(service, login(service, person), bill_id).status_code == 201
    [paid] = settlements(service, bill_id)
    faults.plan("lose_reply")
    assert refund(his, bill_id, drug).status_code == 503
    assert sweep_after_grace(service).counts == {"give_back": 1}

    again = refund(his, bill_id, drug)

    assert again.status_code == 200, again.text
    key = movement_key(paid.setl_id, "refund", person.psn_no)
    states = intents(service, bill_id)
    assert (states[key], states[f"{key}:back"], states[f"{key}#2"]) == ("returned", "done", "done")
    # Paid 100.00, credited 70.00, taken back, credited 70.00 again: the refund, once.
    assert net_moved(service, person.psn_no) == D("-30.00")
    assert snapshot(service, person.psn_no).balc == D("70.00")
    assert_ledger_balanced(service)
    reconciled(service, his)
