"""The patient's story in headless Chromium at 360 px: log in, sign, see the bill, pay it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import needs_chromium
from tests.e2e.browser.pages import DemoServer, charge_and_close, follow, log_in, shoot

pytestmark = [needs_chromium, pytest.mark.slow]

#: 陈静, a demo patient who has not signed yet (seeds/demo/insured_persons.csv); 35.60 in her
#: personal account, so the wallet pays the rest of an 80.00 bill.
CHEN_JING = {
    "psn_no": "37140000000000000012",
    "name": "陈静",
    "certno": "371426198803166087",
    "phone": "15852015661",
}


def test_a_patient_signs_sees_the_split_pays_with_the_wallet_and_sees_it_settled(
    demo_server: DemoServer, phone_page: Any, screenshots: Path
) -> None:
    page = phone_page.new_page()
    base = demo_server.base_url

    page.goto(f"{base}/app/")
    page.wait_for_url(f"{base}/app/login")
    shoot(page, screenshots, "01-login")
    log_in(page, base, CHEN_JING["phone"])
    profile = page.get_by_test_id("profile").inner_text()
    assert "3714**********6087" in profile and "158****5661" in profile
    assert CHEN_JING["certno"] not in page.content()
    shoot(page, screenshots, "02-home-not-signed")

    page.get_by_test_id("go-sign").click()
    assert "一、服务内容" in page.get_by_test_id("agreement-text").inner_text()
    page.get_by_label("姓名").fill(CHEN_JING["name"])
    page.get_by_label("身份证号").fill(CHEN_JING["certno"])
    page.get_by_label("截止前自动支付").check()
    page.get_by_label("我已阅读并同意以上协议").check()
    shoot(page, screenshots, "03-agreement")
    page.get_by_role("button", name="签署并查看我的额度").click()
    page.wait_for_url(re.compile(r"/app/\?signed=1$"))
    credit = page.get_by_test_id("credit")
    line = page.get_by_test_id("credit-line").inner_text()
    assert re.fullmatch(r"¥\d{3,4}\.00", line), line
    assert page.get_by_test_id("available").inner_text() == line
    assert "正常" in credit.inner_text()
    assert page.get_by_test_id("reasons").count() == 1
    shoot(page, screenshots, "04-credit")

    bill_id = charge_and_close(demo_server, CHEN_JING["psn_no"], number="WEB-PAY-1")
    page.goto(f"{base}/app/")
    bill = page.locator(f'[data-bill-id="{bill_id}"]')
    assert "¥80.00" in bill.inner_text() and "待支付" in bill.inner_text()
    assert re.search(r"剩余 7[01] 小时", bill.locator(".countdown").inner_text())
    shoot(page, screenshots, "05-bills")

    follow(page, bill.get_by_role("link"), f"{base}/app/bills/{bill_id}")
    split = page.get_by_test_id("split")
    rows = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in split.locator("tr").all()
    }
    assert rows["个人账户支付"] == "¥35.60"
    assert rows["统筹基金支付"] == "¥0.00"
    assert rows["家庭共济支付"] == "¥0.00"
    assert rows["微信/支付宝支付"] == "¥44.40"
    assert rows["医疗费用合计"] == "¥80.00"
    assert page.get_by_test_id("lines").locator("tbody tr").count() == 2
    shoot(page, screenshots, "06-bill-split")

    page.get_by_label("支付宝").check()
    page.get_by_test_id("pay-button").click()
    settled = page.get_by_test_id("payment-settled")
    settled.wait_for()
    assert "已结清" in page.get_by_test_id("bill-status").inner_text()
    shoot(page, screenshots, "07-paid")

    page.goto(f"{base}/app/?lang=en&text=large")
    assert "Settled" in page.locator(f'[data-bill-id="{bill_id}"]').inner_text()
    assert page.locator("html.large").count() == 1
    shoot(page, screenshots, "08-home-english-large")
    tap_targets = page.locator(".button, .chip, .tab, label.choice").all()
    assert tap_targets
    for target in tap_targets:
        box = target.bounding_box()
        assert box is not None and box["height"] >= 48, target.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
