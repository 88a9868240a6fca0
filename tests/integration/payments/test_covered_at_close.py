"""A bill the pooled fund and the personal account cover entirely settles when it is made
(issue 16 item 4): signing the agreement consents to settlement from the insurance accounts."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from settlement.billing.tables import BillEvent
from settlement.scheduler import run_due
from tests.integration.family.support import make_family
from tests.integration.pages.conftest import browse
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
from tests.integration.scheduler.support import actions, outbox

D = Decimal
#: 200.00 of deductible already used this year: the drug's in-scope part is half the pool's.
MET = "200.00"


def covered_bill(service, his, *, balc="100.00"):
    """A signed patient whose 110.00 bill the fund (50.00) and the account (60.00) cover."""
    person, line = service.enrol(balc=balc, ytd_dedc=MET)
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))
    return person, line, bill_id


def events(service, bill_id: str) -> list[tuple[str, str | None, str]]:
    with service.container.uow() as uow:
        query = select(BillEvent.kind, BillEvent.from_status, BillEvent.to_status).where(
            BillEvent.bill_id == bill_id
        )
        return [tuple(row) for row in uow.session.execute(query.order_by(BillEvent.id))]


def test_a_covered_bill_settles_from_the_insurance_accounts_when_it_is_made(service, his):
    person, line = service.enrol(balc="100.00", ytd_dedc=MET)
    before = snapshot(service, person.psn_no)
    opened = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(opened, (AMOXICILLIN, "100", "1"), (HEALTH_ADVICE, "10", "1"))

    closed = his.post(f"/his/v1/visits/{opened}/close")

    assert closed.status_code == 200, closed.text
    answer = closed.json()
    bill_id = answer["bill_id"]
    assert answer["status"] == "settled"
    assert answer["estimate"]["hifp_pay"] == "50.00"
    assert answer["estimate"]["acct_pay"] == "60.00"
    assert answer["estimate"]["psn_cash_pay"] == "0.00"
    # One settlement, by the insurance accounts, posted: to the fen, source by source.
    [record] = settlements(service, bill_id)
    assert (record.status, record.channel, record.provider) == ("posted", "insurance", None)
    assert record.payer_psn_no == person.psn_no
    assert (record.hifp_pay_fen, record.acct_own_pay_fen, record.psn_cash_pay_fen) == (
        5000,
        6000,
        0,
    )
    assert record.acct_mulaid_pay_fen == 0
    after = snapshot(service, person.psn_no)
    assert after.pool_posted - before.pool_posted == D("-50.00")
    assert after.account_posted - before.account_posted == D("-60.00")
    assert after.wallet_posted == before.wallet_posted
    assert after.balc == D("40.00")
    assert after.hifp_paid == before.hifp_paid + D("50.00")
    # The line is released as a payment releases it: nothing outstanding, nothing pending.
    assert (after.outstanding, after.pending) == (0, 0)
    assert after.available == line
    bill = bill_row(service, bill_id)
    assert bill.status == "settled" and bill.settled_at == bill.closed_at
    assert events(service, bill_id) == [
        ("closed", None, "billed"),
        ("payment_started", "billed", "paying"),
        ("settled", "paying", "settled"),
    ]
    # The patient is told, in Chinese with English beside it, with the split.
    told = outbox(service, kind="settled_by_insurance", psn_no=person.psn_no)
    assert sorted(m.channel for m in told) == ["push", "sms"]
    sms = next(m for m in told if m.channel == "sms")
    assert "¥110.00已由医保账户自动结清，无需自付：医保统筹基金¥50.00、个人账户¥60.00" in sms.body
    assert sms.body_en is not None
    assert "settled from the insurance accounts" in sms.body_en
    assert "pooled fund ¥50.00, personal account ¥60.00" in sms.body_en
    assert outbox(service, kind="payment_received") == []
    assert_ledger_balanced(service)


def test_the_patient_sees_it_paid_by_the_insurance_accounts_and_has_nothing_to_pay(service, his):
    person, _, bill_id = covered_bill(service, his)
    headers = login(service, person)

    body = service.client.get(f"/v1/bills/{bill_id}", headers=headers).json()

    assert body["status"] == "settled"
    assert body["pay_now"] is None
    assert body["setlinfo"]["psn_cash_pay"] == "0.00"
    assert body["setlinfo"]["hifp_pay"] == "50.00"
    assert body["paid"] == {
        "payer_psn_no": person.psn_no,
        "channel": "insurance",
        "wallet": None,
        "acct_pay": "60.00",
        "psn_cash_pay": "0.00",
        "paid_at": body["settled_at"],
    }
    page = browse(service, person).get(f"/app/bills/{bill_id}")
    assert page.status_code == 200
    assert "需自付" not in page.text
    assert "确认支付" not in page.text
    paid = page.text.split('data-testid="paid"', 1)[1].split("</section>", 1)[0]
    assert "已支付" in paid and "医保账户自动结清" in paid and "您本人" in paid
    # A second payment is refused: there is nothing left to pay.
    again = pay(service, headers, bill_id)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "bill_settled"


def test_the_his_reads_the_final_split_of_a_covered_bill(service, his):
    _, _, bill_id = covered_bill(service, his)

    body = his.get(f"/his/v1/bills/{bill_id}").json()

    assert body["status"] == "settled"
    assert body["settled"] is True
    assert body["setlinfo"]["setl_id"] == settlements(service, bill_id)[0].setl_id
    assert body["setlinfo"]["setl_time"] is not None
    assert (body["setlinfo"]["hifp_pay"], body["setlinfo"]["acct_pay"]) == ("50.00", "60.00")
    assert body["setlinfo"]["psn_cash_pay"] == "0.00"


def test_the_scheduler_never_reminds_auto_pays_or_makes_a_covered_bill_overdue(service, his):
    person = service.add_person(balc="100.00", ytd_dedc=MET)
    line = service.sign(person, autopay="on_close")
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "100", "1"))
    told = len(outbox(service))

    for hours in (1, 48, 71, 73, 24 * 9):
        service.advance(hours=hours)
        run_due(service.container)

    assert bill_row(service, bill_id).status == "settled"
    assert [a for a in actions(service) if a[0] == bill_id] == []
    assert len(outbox(service)) == told  # no reminder, no overdue, no auto-pay notice
    credit = service.client.get("/v1/me/credit", headers=login(service, person)).json()
    assert credit["status"] == "active"
    assert D(credit["credit_line"]) >= line  # never frozen nor lowered
    assert D(credit["available"]) == D(credit["credit_line"])


def test_a_relatives_covered_bill_is_told_to_the_manager_and_takes_no_mutual_aid(service):
    family = make_family(service, manager_balc="300.00", relative_balc="100.00")
    bill_id, _ = bill_for(family.his, family.relative.psn_no, (HEALTH_ADVICE, "30", "1"))

    [record] = settlements(service, bill_id)
    assert record.channel == "insurance" and record.acct_mulaid_pay_fen == 0
    assert snapshot(service, family.manager.psn_no).balc == D("300.00")
    told = outbox(service, kind="settled_by_insurance", psn_no=family.manager.psn_no)
    assert sorted(m.channel for m in told) == ["push", "sms"]
    assert all(family.relative.psn_name in m.body for m in told)


def test_a_bill_the_wallet_has_a_part_of_waits_for_the_patient(service, his):
    person, _ = service.enrol(balc="20.00", ytd_dedc=MET)
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "100", "1"))

    bill = bill_row(service, bill_id)
    assert bill.status == "billed"
    assert bill.estimate["psn_cash_pay"] == "30.00"
    assert settlements(service, bill_id) == []
    assert snapshot(service, person.psn_no).balc == D("20.00")  # nothing reserved
    assert outbox(service, kind="settled_by_insurance") == []


def test_an_empty_bill_closes_settled_and_is_told(service, his):
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]

    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close").json()

    assert closed["status"] == "settled" and closed["medfee_sumamt"] == "0.00"
    sms = next(
        m
        for m in outbox(service, kind="settled_by_insurance", psn_no=person.psn_no)
        if m.channel == "sms"
    )
    assert "¥0.00已由医保账户自动结清" in sms.body
