"""A paid bill says what was paid, by whom and when, on the API and on the page."""

from __future__ import annotations

from tests.integration.family.support import charge, close, make_family
from tests.integration.pages.conftest import browse
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for, login, pay


def _settled_story(service):
    person, _ = service.enrol(balc="100.00")
    bill_id, _ = bill_for(
        service.hospitals["H3"],
        person.psn_no,
        (AMOXICILLIN, "300", "1"),
        (HEALTH_ADVICE, "30", "1"),
    )
    headers = login(service, person)
    assert pay(service, headers, bill_id, "alipay").status_code == 201
    return person, headers, bill_id


def test_the_bill_answer_says_who_paid_how_and_when(service):
    person, headers, bill_id = _settled_story(service)

    body = service.client.get(f"/v1/bills/{bill_id}", headers=headers).json()

    assert body["status"] == "settled"
    assert body["paid"] == {
        "payer_psn_no": person.psn_no,
        "channel": "app",
        "wallet": "alipay",
        "acct_pay": "100.00",
        "psn_cash_pay": "180.00",
        "paid_at": body["settled_at"],
    }


def test_an_unpaid_bill_has_no_payment(service):
    # An empty account: the wallet has a part, so the bill waits (issue 16 item 4).
    person, _ = service.enrol(balc="0.00")
    bill_id, _ = bill_for(service.hospitals["H3"], person.psn_no, (AMOXICILLIN, "30", "1"))
    body = service.client.get(f"/v1/bills/{bill_id}", headers=login(service, person)).json()
    assert body["paid"] is None


def test_a_paid_bill_page_shows_what_was_paid_by_whom_and_when_not_what_is_to_pay(service):
    person, _, bill_id = _settled_story(service)

    page = browse(service, person).get(f"/app/bills/{bill_id}")

    assert page.status_code == 200
    assert "需自付" not in page.text
    paid = page.text.split('data-testid="paid"', 1)[1].split("</section>", 1)[0]
    assert "已支付" in paid
    assert "¥180.00" in paid  # from the wallet
    assert "¥100.00" in paid  # from the personal account
    assert "支付宝" in paid
    assert "您本人" in paid
    assert "2026年11月23日 09:30" in paid


def test_a_relatives_bill_paid_by_the_manager_names_the_manager_on_the_relatives_page(service):
    family = make_family(service)
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, "40.00")
    assert charged.status_code == 201, charged.text
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    assert pay(service, family.manager_auth, bill_id).status_code == 201

    relative_page = browse(service, family.relative).get(f"/app/bills/{bill_id}")
    manager_page = browse(service, family.manager).get(
        f"/app/family/{family.relative.psn_no}/bills/{bill_id}"
    )

    relatives_view = relative_page.text.split('data-testid="paid"', 1)[1].split("</section>")[0]
    assert family.manager.psn_name[:1] in relatives_view
    assert "您本人" not in relatives_view
    managers_view = manager_page.text.split('data-testid="paid"', 1)[1].split("</section>")[0]
    assert "您本人" in managers_view


def test_the_messages_page_shows_a_notice_in_english_when_asked(service):
    person, _, bill_id = _settled_story(service)
    browser = browse(service, person)

    chinese = browser.get("/app/messages").text
    english = browser.get("/app/messages?lang=en").text

    assert "您的信用就医账单¥330.00已结清" in chinese
    assert "Your credit care bill of ¥330.00 is paid" in english
    assert f"http://127.0.0.1:8000/app/bills/{bill_id}" in english


def test_a_visit_end_bill_page_says_the_fund_paid_at_close_and_what_the_credit_carries(service):
    from tests.integration.payments.support import use_mode

    person, _ = service.enrol(balc="100.00")
    bills = {}
    for mode in ("repayment", "visit_end"):
        use_mode(service, mode)
        bills[mode], _ = bill_for(
            service.hospitals["H3"],
            person.psn_no,
            (AMOXICILLIN, "300", "1"),
            (HEALTH_ADVICE, "30", "1"),
        )
    browser = browse(service, person)

    page = browser.get(f"/app/bills/{bills['visit_end']}")

    assert page.status_code == 200
    note = page.text.split('data-testid="fund-at-close"', 1)[1].split("</p>", 1)[0]
    assert "统筹基金¥50.00已在就诊结束时结算" in note and "¥280.00" in note
    assert 'data-testid="fund-at-close"' not in browser.get(f"/app/bills/{bills['repayment']}").text
