"""The operator console in Chromium against a real server: an administrator logs in, reads the
overview of a day the test built, opens every list and downloads the CSV; every figure on the
page is the one ``GET /admin/v1/reports/daily`` gives for the same day and hospital."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser.conftest import needs_chromium
from tests.e2e.browser.pages import DemoServer, charge_and_close
from tests.harness import ADMIN_TOKEN

pytestmark = [needs_chromium, pytest.mark.slow]

LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 768, "height": 1024}
HOSPITAL = "H371402001"
#: 张伟 pays his bill and has a line refunded; 杨帆 leaves hers unpaid until it is overdue.
ZHANG_WEI = {"psn_no": "37140000000000000002", "phone": "13768781819"}
YANG_FAN = {"psn_no": "37140000000000000013", "phone": "15863463488"}
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def desk(browser: Any) -> Iterator[Any]:
    """A fresh laptop-sized browser profile, accepting downloads."""
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def business_day(server: DemoServer) -> date:
    """The service's day now (a scheduler run says what time the service thinks it is)."""
    now = server.sandbox("/scheduler/run").json()["now"]
    return datetime.fromisoformat(now).astimezone(ZONE).date()


def pay(server: DemoServer, person: dict[str, str], bill_id: str) -> None:
    """The patient logs in with the sandbox's code and pays with WeChat Pay; wait till settled."""
    http = server.http
    sent = http.post("/v1/auth/otp", json={"phone": person["phone"]})
    assert sent.status_code == 200, sent.text
    token = http.post(
        "/v1/auth/token", json={"phone": person["phone"], "code": sent.json()["sandbox_code"]}
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    paid = http.post(
        f"/v1/bills/{bill_id}/payments",
        json={"wallet": "wechat"},
        headers={**auth, "Idempotency-Key": f"pay-{bill_id}"},
    )
    assert paid.status_code == 201, paid.text
    for _ in range(100):
        if http.get(f"/v1/bills/{bill_id}", headers=auth).json()["status"] == "settled":
            return
        server.sandbox("/scheduler/run")
        time.sleep(0.1)
    raise AssertionError(f"bill {bill_id} did not settle")


def build_days(server: DemoServer) -> tuple[date, date, str]:
    """A paid bill refunded in part and an unpaid bill today; three days later it is overdue."""
    paid = charge_and_close(server, ZHANG_WEI["psn_no"], number="CON-PAID")
    unpaid = charge_and_close(server, YANG_FAN["psn_no"], number="CON-LATE")
    pay(server, ZHANG_WEI, paid)
    refund = server.his().request(
        "POST", f"/his/v1/bills/{paid}/refunds", {"feedetl_sn": ["CON-PAID-2"], "reason": "退费"}
    )
    assert refund.status_code == 200, refund.text
    first = business_day(server)
    server.sandbox("/clock/advance", {"hours": "73"})
    later = business_day(server)
    return first, later, unpaid


def api_report(server: DemoServer, day: date, hospital: str | None = None) -> dict[str, Any]:
    query = f"date={day.isoformat()}" + (f"&hospital={hospital}" if hospital else "")
    answer = server.http.get(
        f"/admin/v1/reports/daily?{query}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def api_value(report: dict[str, Any], path: str) -> str:
    parts = path.split(".")
    node: Any = report
    if parts[0] == "hospitals":
        node = next(h for h in report["hospitals"] if h["hospital_code"] == parts[1])
        parts = parts[2:]
    for part in parts:
        node = node[part]
    return "" if node is None else str(node)


def shown_number(text: str) -> Decimal | None:
    cleaned = text.replace("¥", "").replace(",", "").strip()
    if cleaned in ("", "—"):
        return None
    if cleaned.endswith("%"):
        return Decimal(cleaned[:-1]) / 100
    return Decimal(cleaned)


def assert_page_matches_api(page: Any, report: dict[str, Any]) -> int:
    """Every figure of the chosen day on the page equals the API's, in its value and its text."""
    figures = page.locator("[data-figure]").evaluate_all(
        "nodes => nodes.map(n => [n.dataset.figure, n.dataset.value, n.innerText])"
    )
    checked = 0
    for where, value, text in figures:
        path = where
        if where.startswith("trend."):
            if not where.startswith(f"trend.{report['date']}."):
                continue
            path = where.split(".", 2)[2]
        expected = api_value(report, path)
        assert value == expected, where
        number = shown_number(text)
        if expected == "":
            assert number is None, where
        else:
            assert number == Decimal(expected), (where, text, expected)
        checked += 1
    return checked


def log_in(context: Any, base: str, screenshots: Path) -> Any:
    page = context.new_page()
    page.goto(f"{base}/admin/")
    assert page.url.endswith("/admin/login")
    page.get_by_label("管理员令牌").fill("wrong-token")
    page.get_by_role("button", name="登录").click()
    assert "令牌不正确" in page.get_by_test_id("error").inner_text()
    page.get_by_label("管理员令牌").fill(ADMIN_TOKEN)
    page.screenshot(path=str(screenshots / "console-01-login.png"))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/admin/")
    return page


def test_an_administrator_reads_the_day_the_test_built_opens_every_list_and_downloads_the_csv(
    demo_server: DemoServer, desk: Any, browser: Any, screenshots: Path
) -> None:
    first, later, overdue_bill = build_days(demo_server)
    base = demo_server.base_url
    page = log_in(desk, base, screenshots)

    page.goto(f"{base}/admin/?date={first.isoformat()}&days=30")
    report = api_report(demo_server, first)
    assert report["totals"]["bills_closed"]["count"] == 2
    assert report["totals"]["refunds"]["count"] == 1
    assert assert_page_matches_api(page, report) > 60
    assert page.locator("[data-testid^=chart-] img").count() == 5
    page.screenshot(path=str(screenshots / "console-02-overview-day.png"), full_page=True)

    # Three days later, one hospital, 90 days: the unpaid bill is overdue.
    page.get_by_test_id("date").fill(later.isoformat())
    page.get_by_test_id("days").select_option("90")
    page.get_by_test_id("hospital").select_option(HOSPITAL)
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(f"**hospital={HOSPITAL}**")
    report = api_report(demo_server, later, HOSPITAL)
    assert report["totals"]["overdue"]["count"] == 1
    assert assert_page_matches_api(page, report) > 50
    assert page.locator("table[data-testid=trend-table] tbody tr").count() == 90
    page.screenshot(path=str(screenshots / "console-03-overview-overdue.png"), full_page=True)

    with page.expect_download() as downloading:
        page.get_by_test_id("csv").click()
    download = downloading.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8-sig"))))
    assert len(rows) == 90 * 2  # the hospital together ("*") and itself, every day
    for row in rows:
        if row["date"] == later.isoformat() and row["hospital_code"] == HOSPITAL:
            for name in ("bills_closed.amount", "net.psn_cash_pay", "overdue.amount"):
                assert row[name] == api_value(report, f"hospitals.{HOSPITAL}.{name}"), name
            assert row["scheme.credit_in_use"] == report["scheme"]["credit_in_use"]
            break
    else:
        raise AssertionError("the CSV has no row for the day")

    lists = [
        ("overdue", "overdue"),
        ("differences", "differences"),
        ("deliveries", "deliveries"),
        ("autopay", "autopay"),
        ("hospitals", "hospitals"),
        ("catalogue", "catalogue"),
    ]
    for number, (nav, name) in enumerate(lists, start=4):
        page.get_by_test_id(f"nav-{nav}").click()
        page.wait_for_url(f"{base}/admin/{name}")
        page.screenshot(path=str(screenshots / f"console-{number:02d}-{name}.png"), full_page=True)
        if name == "overdue":
            assert overdue_bill in page.get_by_test_id("rows").inner_text()
            page.get_by_test_id("bucket-1-7").click()
            assert overdue_bill in page.get_by_test_id("rows").inner_text()
        if name == "differences":
            assert page.get_by_test_id("balanced").count() == 1
        if name == "hospitals":
            assert HOSPITAL in page.get_by_test_id("rows").inner_text()
        if name == "catalogue":
            page.get_by_test_id("search").fill("001102000040000")
            page.get_by_role("button", name="搜索").click()
            assert "共 1 条" in page.get_by_test_id("page-of").inner_text()
            page.get_by_test_id("edit-001102000040000").click()
            page.get_by_label("分类").fill("诊查费")
            page.get_by_test_id("save").click()
            page.get_by_test_id(
                "saved"
            ).wait_for()  # the saved page, not the form (count() waits not)
            assert page.get_by_test_id("saved").count() == 1
            page.screenshot(path=str(screenshots / "console-10-catalogue-item.png"))

    tablet = browser.new_context(viewport=TABLET, locale="en-GB")
    try:
        on_tablet = log_in(tablet, base, screenshots)
        on_tablet.goto(f"{base}/admin/?date={later.isoformat()}&days=30&lang=en")
        assert "Operator console" in on_tablet.content()
        assert assert_page_matches_api(on_tablet, api_report(demo_server, later)) > 60
        width = on_tablet.evaluate("document.documentElement.scrollWidth")
        assert width <= TABLET["width"], "the page scrolls sideways on a tablet"
        on_tablet.screenshot(
            path=str(screenshots / "console-11-overview-tablet-en.png"), full_page=True
        )
    finally:
        tablet.close()
