"""A covered bill (issue 16 item 4) when the insurance platform fails at close, and when the
close is retried: never lost, never half-written, settled once."""

from __future__ import annotations

from decimal import Decimal

from settlement.adapters.sandbox import SandboxInsurancePlatform
from settlement.scheduler import run_due
from tests.integration.api.test_national_calls import national, ok, settle_data
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    assert_ledger_balanced,
    bill_row,
    login,
    pay,
    settlements,
    snapshot,
)
from tests.integration.payments.test_covered_at_close import MET, events
from tests.integration.scheduler.support import actions, outbox

D = Decimal


class DownPlatform(SandboxInsurancePlatform):
    """The insurance platform answering lookups but failing every account movement."""

    def debit_personal_account(self, psn_no: str, amount: Decimal) -> Decimal:
        raise ConnectionError("the insurance platform did not answer")


def close_while_down(service, his, monkeypatch, *, balc="100.00"):
    """Close a 110.00 visit the fund (50.00) and the account (60.00) cover while the platform
    is down; then the platform answers again."""
    person, line = service.enrol(balc=balc, ytd_dedc=MET)
    before = snapshot(service, person.psn_no)
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))
    with monkeypatch.context() as down:
        down.setattr(service.container, "insurance_platform", DownPlatform)
        closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code == 200, closed.text
    return person, line, before, closed.json()


def test_a_platform_failure_at_close_keeps_the_bill_whole_and_payable(service, his, monkeypatch):
    person, _, before, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]

    assert answer["status"] == "billed"
    assert answer["estimate"]["psn_cash_pay"] == "0.00"
    # Nothing of the attempt was written: no settlement, nothing taken or reserved.
    assert settlements(service, bill_id) == []
    after = snapshot(service, person.psn_no)
    assert after.balc == before.balc == D("100.00")
    assert (after.pool_posted, after.account_posted) == (before.pool_posted, before.account_posted)
    assert (after.deductible_used, after.hifp_paid) == (before.deductible_used, before.hifp_paid)
    assert (after.outstanding, after.pending) == (D("110.00"), 0)
    assert events(service, bill_id) == [
        ("closed", None, "billed"),
        ("insurance_settle_failed", "billed", "billed"),
    ]
    assert outbox(service, kind="settled_by_insurance") == []
    # Payable, with nothing for the wallet.
    body = service.client.get(f"/v1/bills/{bill_id}", headers=login(service, person)).json()
    assert body["pay_now"]["setlinfo"]["psn_cash_pay"] == "0.00"
    assert_ledger_balanced(service)


def test_the_scheduler_settles_it_once_the_platform_answers(service, his, monkeypatch):
    person, line, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]
    with monkeypatch.context() as down:
        down.setattr(service.container, "insurance_platform", DownPlatform)
        still_down = run_due(service.container)
    assert still_down.sweeps["settle_covered"].counts == {"error": 1}
    assert bill_row(service, bill_id).status == "billed"

    report = run_due(service.container)

    assert report.sweeps["settle_covered"].ids == [bill_id]
    assert bill_row(service, bill_id).status == "settled"
    [record] = settlements(service, bill_id)
    assert (record.channel, record.hifp_pay_fen, record.acct_own_pay_fen) == (
        "insurance",
        5000,
        6000,
    )
    assert (bill_id, "settle_covered", "done") in actions(service)
    told = outbox(service, kind="settled_by_insurance", psn_no=person.psn_no)
    assert sorted(m.channel for m in told) == ["push", "sms"]
    after = snapshot(service, person.psn_no)
    assert (after.balc, after.outstanding, after.available) == (D("40.00"), 0, line)
    # Settled once: the sweep never takes it again, and it never goes overdue.
    service.advance(hours=80)
    assert run_due(service.container).sweeps["settle_covered"].ids == []
    assert len(settlements(service, bill_id)) == 1
    assert (bill_id, "overdue", "done") not in actions(service)
    assert_ledger_balanced(service)


def test_the_patient_may_settle_it_with_nothing_from_the_wallet(service, his, monkeypatch):
    person, _, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]

    paid = pay(service, login(service, person), bill_id, "alipay")

    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"] is None and paid.json()["status"] == "settled"
    assert run_due(service.container).sweeps["settle_covered"].ids == []
    assert len(settlements(service, bill_id)) == 1
    assert snapshot(service, person.psn_no).balc == D("40.00")


def test_a_balance_spent_meanwhile_leaves_the_bill_to_the_patient(service, his, monkeypatch):
    person, _, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]
    with service.container.uow() as uow:  # another settlement spends the account meanwhile
        service.container.insurance_platform(uow.session).debit_personal_account(
            person.psn_no, D("90.00")
        )
        uow.commit()

    report = run_due(service.container)

    assert report.sweeps["settle_covered"].counts == {"waits": 1}
    assert bill_row(service, bill_id).status == "billed"
    assert settlements(service, bill_id) == []
    assert (bill_id, "settle_covered", "skipped") in actions(service)
    assert run_due(service.container).sweeps["settle_covered"].counts == {}


def test_a_retried_close_answers_the_first_answer_and_settles_once(service, his):
    person, _ = service.enrol(balc="100.00", ytd_dedc=MET)
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))

    first = his.post(f"/his/v1/visits/{mdtrt_id}/close", key="close-1")
    again = his.post(f"/his/v1/visits/{mdtrt_id}/close", key="close-1")
    other_key = his.post(f"/his/v1/visits/{mdtrt_id}/close", key="close-2")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["status"] == "settled"
    assert other_key.json()["bill_id"] == first.json()["bill_id"]
    assert other_key.json()["status"] == "settled"
    assert len(settlements(service, first.json()["bill_id"])) == 1
    assert len(outbox(service, kind="settled_by_insurance")) == 2  # one SMS, one push
    assert snapshot(service, person.psn_no).balc == D("40.00")


def test_a_retried_national_2207_answers_the_same_bill_settled_once(service, his):
    person, _ = service.enrol(balc="100.00", ytd_dedc=MET)
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))
    data = settle_data(person.psn_no, mdtrt_id, 110.00)

    first = ok(national(his, "2207", data, msgid="H3202611230930000001"))
    replay = ok(national(his, "2207", data, msgid="H3202611230930000001"))
    new_msgid = ok(national(his, "2207", data, msgid="H3202611230930000002"))

    assert replay == first
    assert new_msgid["setlinfo"]["setl_id"] == first["setlinfo"]["setl_id"]
    for name in ("hifp_pay", "acct_pay", "psn_cash_pay"):
        assert D(str(new_msgid["setlinfo"][name])) == D(str(first["setlinfo"][name]))
    assert D(str(first["setlinfo"]["psn_cash_pay"])) == 0
    bill_id = first["setlinfo"]["setl_id"]
    assert bill_row(service, bill_id).status == "settled"
    assert len(settlements(service, bill_id)) == 1
    # 5203 reads the final split: settled.
    read = his.get(f"/his/v1/bills/{bill_id}").json()
    assert read["settled"] is True and read["setlinfo"]["acct_pay"] == "60.00"
