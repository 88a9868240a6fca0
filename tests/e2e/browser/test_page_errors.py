"""A refused form on a phone: the error is at the top, in view, and has the focus (issue 16
item 10); the agreement is rendered Markdown, not ``##``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import needs_chromium
from tests.e2e.browser.pages import DemoServer, log_in, shoot
from tests.e2e.browser.test_patient_story import CHEN_JING

pytestmark = [needs_chromium, pytest.mark.slow]


def test_a_wrong_id_number_is_shown_in_view_at_the_top_with_the_focus(
    demo_server: DemoServer, phone_page: Any, screenshots: Path
) -> None:
    page = phone_page.new_page()
    base = demo_server.base_url
    log_in(page, base, CHEN_JING["phone"])
    page.goto(f"{base}/app/agreement")
    text = page.get_by_test_id("agreement-text")
    assert text.locator("h3", has_text="一、服务内容").count() == 1
    assert "##" not in text.inner_text()

    page.get_by_label("姓名").fill(CHEN_JING["name"])
    page.get_by_label("身份证号").fill("37142619880316000X")
    page.get_by_label("我已阅读并同意以上协议").check()
    page.get_by_role("button", name="签署并查看我的额度").click()

    # The refused form comes back as a new page: wait for its error (a click need not wait for
    # the navigation it starts, and count() reads at once).
    error = page.get_by_test_id("error")
    error.wait_for()
    page.wait_for_load_state()
    assert error.count() == 1
    assert page.evaluate("document.activeElement && document.activeElement.id") == "page-error"
    box = error.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]
    shoot(page, screenshots, "agreement-error-at-the-top")
