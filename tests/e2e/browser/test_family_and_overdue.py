"""A family manager pays for an elderly parent; a bill left unpaid past 72 hours turns overdue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import needs_chromium
from tests.e2e.browser.pages import DemoServer, charge_and_close, follow, log_in, shoot

pytestmark = [needs_chromium, pytest.mark.slow]

#: 张伟 manages his father 张建国; both signed at seeding (seeds/demo/insured_persons.csv).
ZHANG_WEI_PHONE = "13768781819"
ZHANG_JIANGUO = {"psn_no": "37140000000000000001", "certno": "371402194803120469"}
ZHANG_JIANGUO_PHONE = "18600869919"
#: 杨帆, signed at seeding, nothing in the personal account.
YANG_FAN = {"psn_no": "37140000000000000013", "phone": "15863463488"}


def test_a_manager_invites_a_parent_who_accepts_and_the_manager_pays_the_parents_bill(
    demo_server: DemoServer, browser: Any, phone_page: Any, screenshots: Path
) -> None:
    base = demo_server.base_url
    manager = phone_page.new_page()
    log_in(manager, base, ZHANG_WEI_PHONE)
    manager.get_by_role("link", name="亲情账号").click()
    form = manager.get_by_test_id("invite-form")
    form.get_by_label("亲属医保个人编号").fill(ZHANG_JIANGUO["psn_no"])
    form.get_by_label("身份证号").fill(ZHANG_JIANGUO["certno"])
    form.get_by_label("父母").check()
    form.get_by_role("button", name="发送邀请").click()
    assert "邀请已发送" in manager.get_by_test_id("notice").inner_text()
    relative = manager.get_by_test_id("relative")
    assert "待同意" in relative.inner_text()
    assert "3714**********0469" in relative.inner_text()
    assert ZHANG_JIANGUO["certno"] not in manager.content()
    shoot(manager, screenshots, "10-family-invited")

    parent_context = browser.new_context(viewport={"width": 360, "height": 780})
    try:
        parent = parent_context.new_page()
        log_in(parent, base, ZHANG_JIANGUO_PHONE)
        parent.goto(f"{base}/app/family")
        parent.get_by_test_id("accept-invitation").click()
        assert "已同意" in parent.get_by_test_id("notice").inner_text()
        shoot(parent, screenshots, "11-family-accepted")
    finally:
        parent_context.close()

    bill_id = charge_and_close(demo_server, ZHANG_JIANGUO["psn_no"], number="WEB-FAM-1")
    manager.goto(f"{base}/app/family")
    relatives_bills = manager.get_by_test_id("relative").get_by_role(
        "link", name=re.compile("的账单")
    )
    follow(manager, relatives_bills, f"{base}/app/family/{ZHANG_JIANGUO['psn_no']}")
    assert manager.get_by_test_id("credit").count() == 1
    bill = manager.locator(f'[data-bill-id="{bill_id}"]')
    assert "¥80.00" in bill.inner_text()
    shoot(manager, screenshots, "12-relative-bills")
    follow(manager, bill.get_by_role("link"), re.compile(rf"/{bill_id}$"))
    rows = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in manager.get_by_test_id("split").locator("tr").all()
    }
    assert rows["医疗费用合计"] == "¥80.00"
    shoot(manager, screenshots, "13-relative-bill")
    manager.get_by_test_id("pay-button").click()
    manager.get_by_test_id("payment-settled").wait_for()
    assert "已结清" in manager.get_by_test_id("bill-status").inner_text()
    shoot(manager, screenshots, "14-relative-bill-paid")


def test_a_bill_left_unpaid_past_the_deadline_shows_as_overdue_with_a_notice(
    demo_server: DemoServer, phone_page: Any, screenshots: Path
) -> None:
    base = demo_server.base_url
    bill_id = charge_and_close(demo_server, YANG_FAN["psn_no"], number="WEB-LATE-1")
    demo_server.sandbox("/clock/advance", {"hours": "73"})
    demo_server.sandbox("/scheduler/run")

    page = phone_page.new_page()
    log_in(page, base, YANG_FAN["phone"])
    bill = page.locator(f'[data-bill-id="{bill_id}"]')
    assert "overdue" in (bill.get_attribute("class") or "")
    assert "⚠" in bill.inner_text() and "已逾期" in bill.inner_text()
    colour = bill.evaluate("node => getComputedStyle(node).borderTopColor")
    assert colour == "rgb(176, 0, 32)"
    assert "已冻结" in page.get_by_test_id("credit").inner_text()
    shoot(page, screenshots, "20-overdue")

    page.get_by_role("link", name="消息").click()
    messages = page.get_by_test_id("messages").inner_text()
    assert re.search("逾期", messages), messages
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing wider than 360"
    shoot(page, screenshots, "21-messages")

    page.goto(f"{base}/app/bills/{bill_id}")
    page.get_by_test_id("pay-button").click()
    page.get_by_test_id("payment-settled").wait_for()
    assert "已结清（逾期）" in page.get_by_test_id("bill-status").inner_text()


#: 李娜 (signed at seeding) and her mother 李秀英, who has not signed.
LI_NA_PHONE = "13383663157"
LI_XIUYING = {
    "psn_no": "37140000000000000003",
    "certno": "371424195111202722",
    "name": "李秀英",
    "phone": "13735538959",
}


def test_a_parent_declines_then_accepts_the_manager_signs_for_her_ends_the_link_and_revokes(
    demo_server: DemoServer, browser: Any, phone_page: Any, screenshots: Path
) -> None:
    base = demo_server.base_url
    manager = phone_page.new_page()
    log_in(manager, base, LI_NA_PHONE)

    def invite() -> None:
        manager.goto(f"{base}/app/family")
        form = manager.get_by_test_id("invite-form")
        form.get_by_label("亲属医保个人编号").fill(LI_XIUYING["psn_no"])
        form.get_by_label("身份证号").fill(LI_XIUYING["certno"])
        form.get_by_label("父母").check()
        form.get_by_role("button", name="发送邀请").click()
        assert "邀请已发送" in manager.get_by_test_id("notice").inner_text()

    invite()
    parent_context = browser.new_context(viewport={"width": 360, "height": 780})
    try:
        parent = parent_context.new_page()
        log_in(parent, base, LI_XIUYING["phone"])
        parent.goto(f"{base}/app/family")
        shoot(parent, screenshots, "15-family-invitation-decline")
        parent.get_by_test_id("decline-invitation").click()
        assert "已拒绝邀请" in parent.get_by_test_id("notice").inner_text()
        invite()
        parent.goto(f"{base}/app/family")
        parent.get_by_test_id("accept-invitation").click()
        assert "已同意" in parent.get_by_test_id("notice").inner_text()
    finally:
        parent_context.close()

    # The manager signs the agreement for her mother, who has not signed.
    manager.goto(f"{base}/app/family/{LI_XIUYING['psn_no']}")
    manager.get_by_test_id("go-proxy-sign").click()
    form = manager.get_by_test_id("proxy-sign-form")
    form.get_by_label("亲属姓名").fill(LI_XIUYING["name"])
    form.get_by_label("亲属身份证号").fill(LI_XIUYING["certno"])
    form.get_by_role("checkbox").check()
    assert manager.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(manager, screenshots, "16-family-proxy-sign")
    form.get_by_role("button", name="代为签署").click()
    assert "已为" in manager.get_by_test_id("notice").inner_text()
    assert manager.get_by_test_id("go-proxy-sign").count() == 0
    assert LI_XIUYING["certno"] not in manager.content()

    # Ending the link asks first.
    manager.goto(f"{base}/app/family")
    manager.get_by_test_id("relative").get_by_test_id("end-link").click()
    shoot(manager, screenshots, "17-family-end-link")
    manager.get_by_test_id("end-link-button").click()
    assert "已解除关联" in manager.get_by_test_id("notice").inner_text()

    # Revoking her own agreement, with nothing owed.
    manager.goto(f"{base}/app/agreement")
    manager.get_by_test_id("go-revoke").click()
    shoot(manager, screenshots, "18-agreement-revoke")
    manager.get_by_test_id("revoke-button").click()
    manager.wait_for_url(f"{base}/app/?revoked=1")
    assert "服务协议已解除" in manager.get_by_test_id("notice").inner_text()
    assert manager.get_by_test_id("go-sign").count() == 1
