"""The operator console without a browser (TestClient): login, CSRF, the overview's figures equal
the API's, the CSV, the lists with search and paging, rotating a secret, editing an item."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from settlement.messages.tables import FAILED, OutboxMessage
from tests.harness import ADMIN_TOKEN, Service, build_service
from tests.integration.api.test_daily_report import LATER_DAY, build_days

REGISTRATION = "001101000010000"


@pytest.fixture
def service(engine) -> Service:
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    return build_service(engine, account_balance="0.00")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None, html
    return found.group(1)


def logged_in(service: Service) -> TestClient:
    client = TestClient(service.client.app)
    csrf = csrf_of(client.get("/admin/login").text)
    answer = client.post("/admin/login", data={"csrf": csrf, "token": ADMIN_TOKEN})
    assert answer.status_code == 200 and answer.url.path == "/admin/", answer.text
    return client


def figures_on(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([^"]+)" data-value="([^"]*)"', html))


def api_value(report: dict[str, Any], path: str) -> str:
    parts = path.split(".")
    if parts[0] == "hospitals":
        node: Any = next(h for h in report["hospitals"] if h["hospital_code"] == parts[1])
        parts = parts[2:]
    else:
        node = report
    for part in parts:
        node = node[part]
    return "" if node is None else str(node)


def test_a_visitor_is_sent_to_the_login_page_and_a_wrong_token_is_refused(
    service: Service,
) -> None:
    client = TestClient(service.client.app)
    for path in ("/admin/", "/admin/overdue", "/admin/trends.csv", "/admin/hospitals"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/admin/login"
    csrf = csrf_of(client.get("/admin/login").text)
    refused = client.post("/admin/login", data={"csrf": csrf, "token": "not-the-token"})
    assert refused.status_code == 401
    assert "令牌不正确" in refused.text
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_logins_from_one_address_are_limited_the_right_token_too(service: Service) -> None:
    client = TestClient(service.client.app)
    csrf = csrf_of(client.get("/admin/login").text)
    for _ in range(10):  # SHUXIN_RATE_LIMIT_CONSOLE_LOGIN_PER_CLIENT: 10/minute
        wrong = client.post("/admin/login", data={"csrf": csrf, "token": "guess"})
        assert wrong.status_code == 401
    limited = client.post("/admin/login", data={"csrf": csrf, "token": ADMIN_TOKEN})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "登录尝试过多" in limited.text
    assert client.get("/admin/", follow_redirects=False).status_code == 303  # not logged in


def test_the_session_cookie_is_httponly_strict_and_names_no_secret(service: Service) -> None:
    client = logged_in(service)
    cookie = next(c for c in client.cookies.jar if c.name == "shuxin_console")
    assert cookie.path == "/admin"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert str(cookie.get_nonstandard_attr("SameSite")).lower() == "strict"
    assert ADMIN_TOKEN not in (cookie.value or "")
    # A session made under another admin token does not open the console.
    forged = TestClient(service.client.app)
    forged.cookies.set(
        "shuxin_console", cookie.value.replace(cookie.value[-4:], "0000"), path="/admin"
    )
    assert forged.get("/admin/", follow_redirects=False).status_code == 303


def test_forms_without_the_sessions_csrf_token_are_refused(service: Service) -> None:
    client = TestClient(service.client.app)
    client.get("/admin/login")
    assert client.post("/admin/login", data={"token": ADMIN_TOKEN}).status_code == 403
    signed_in = logged_in(service)
    before = signed_in.get("/admin/hospitals").text
    rotate = signed_in.post("/admin/hospitals/H001/secret", data={"csrf": "0" * 64})
    assert rotate.status_code == 403
    other = csrf_of(TestClient(service.client.app).get("/admin/login").text)
    assert signed_in.post("/admin/logout", data={"csrf": other}).status_code == 403
    assert signed_in.get("/admin/hospitals").text == before


def test_logging_out_ends_the_session(service: Service) -> None:
    client = logged_in(service)
    csrf = csrf_of(client.get("/admin/").text)
    out = client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_every_figure_on_the_overview_is_the_apis_for_the_same_day_and_hospital(
    service: Service,
) -> None:
    build_days(service)
    client = logged_in(service)
    for query, api_query in (("", ""), ("&hospital=H001", "&hospital=H001")):
        html = client.get(f"/admin/?date={LATER_DAY}&days=30{query}").text
        report = service.client.get(
            f"/admin/v1/reports/daily?date={LATER_DAY}{api_query}", headers=service.admin
        ).json()
        shown = figures_on(html)
        day_figures = {k: v for k, v in shown.items() if not k.startswith("trend.")}
        assert len(day_figures) > 40
        for path, value in day_figures.items():
            assert value == api_value(report, path), path
        # The trend's rows are each day's report too.
        trend = {k: v for k, v in shown.items() if k.startswith(f"trend.{LATER_DAY}.")}
        for path, value in trend.items():
            assert value == api_value(report, path.split(".", 2)[2]), path
        assert html.count('data-testid="chart-') == 5
        assert "data:image/svg+xml;base64," in html


def test_the_csv_holds_the_apis_figures_day_by_day(service: Service) -> None:
    build_days(service)
    client = logged_in(service)
    answer = client.get(f"/admin/trends.csv?date={LATER_DAY}&days=30")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert len(rows) == 30 * 3  # every day: all hospitals, then H001 and HX
    for row in rows:
        if row["date"] not in ("2026-11-23", LATER_DAY):
            continue
        report = service.client.get(
            f"/admin/v1/reports/daily?date={row['date']}", headers=service.admin
        ).json()
        source = (
            report["totals"]
            if row["hospital_code"] == "*"
            else next(h for h in report["hospitals"] if h["hospital_code"] == row["hospital_code"])
        )
        for name, value in row.items():
            if name == "date":
                continue
            if name.startswith("scheme."):
                expected = api_value(report, name)
            else:
                expected = api_value({"x": source}, "x." + name)
            assert value == expected, (row["date"], row["hospital_code"], name)


def test_a_bad_day_or_unknown_hospital_is_answered_on_the_page(service: Service) -> None:
    client = logged_in(service)
    assert client.get("/admin/?date=2026-02-30").status_code == 400
    assert client.get("/admin/?days=7").status_code == 400
    assert client.get("/admin/?hospital=NOPE").status_code == 404


def test_the_lists_open_search_and_page(service: Service) -> None:
    built = build_days(service)
    with service.container.uow() as uow:
        uow.session.add_all(
            OutboxMessage(
                kind="overdue", psn_no=f"P{index:03d}", channel="sms", template="overdue",
                body="x", status=FAILED, attempts=5, last_error="gateway down",
                created_at=service.clock.now(),
            )
            for index in range(60)
        )  # fmt: skip
        uow.commit()
    client = logged_in(service)
    overdue = client.get("/admin/overdue")
    assert built["late_bill"] in overdue.text
    assert client.get("/admin/overdue?bucket=8-30").text.count(built["late_bill"]) == 0
    assert built["late_bill"] in client.get("/admin/overdue?bucket=1-7").text
    assert built["late_bill"] not in client.get("/admin/overdue?q=nothing-like-it").text
    deliveries = client.get("/admin/deliveries")
    assert "共 60 条" in deliveries.text and 'rel="next"' in deliveries.text
    second = client.get("/admin/deliveries?page=2")
    assert "第 2 / 2 页" in second.text and 'rel="prev"' in second.text
    assert "P059" in deliveries.text and "P009" in second.text
    assert "共 1 条" in client.get("/admin/deliveries?q=P042").text
    for path in ("/admin/differences", "/admin/autopay", "/admin/hospitals", "/admin/catalogue"):
        assert client.get(path).status_code == 200, path
    found = client.get(f"/admin/catalogue?q={REGISTRATION}").text
    assert REGISTRATION in found and "共 1 条" in found
    assert 'data-testid="balanced"' in client.get("/admin/differences").text


def test_rotating_a_secret_shows_the_new_one_once_and_the_old_stops_working(
    service: Service,
) -> None:
    his = service.add_hospital("HR")
    client = logged_in(service)
    page = client.get("/admin/hospitals").text
    form = re.search(
        r'action="/admin/hospitals/HR/secret".*?name="idempotency_key" value="([^"]+)"', page, re.S
    )
    assert form is not None
    rotated = client.post(
        "/admin/hospitals/HR/secret", data={"csrf": csrf_of(page), "idempotency_key": form.group(1)}
    )
    assert rotated.status_code == 200, rotated.text
    secret = re.search(r'data-testid="secret">([0-9a-f]{64})<', rotated.text)
    assert secret is not None
    assert his.get("/his/v1/reconciliation?date=2026-11-23").status_code == 401
    his.secret = secret.group(1)
    assert his.get("/his/v1/reconciliation?date=2026-11-23").status_code == 200
    assert secret.group(1) not in client.get("/admin/hospitals").text


def test_a_catalogue_item_is_edited_through_the_admin_call_and_bad_input_is_refused(
    service: Service,
) -> None:
    client = logged_in(service)
    page = client.get(f"/admin/catalogue/{REGISTRATION}").text
    csrf = csrf_of(page)
    saved = client.post(
        f"/admin/catalogue/{REGISTRATION}",
        data={"csrf": csrf, "item_name": "普通挂号费", "chrgitm_lv": "A", "pric_uplmt_amt": "2.50"},
    )
    assert saved.status_code == 200 and 'data-testid="saved"' in saved.text
    item = service.client.get(f"/admin/v1/catalogue/{REGISTRATION}", headers=service.admin).json()
    assert (item["item_name"], item["pric_uplmt_amt"]) == ("普通挂号费", "2.50")
    refused = client.post(
        f"/admin/catalogue/{REGISTRATION}",
        data={
            "csrf": csrf,
            "item_name": "普通挂号费",
            "chrgitm_lv": "A",
            "pric_uplmt_amt": "1.234",
        },
    )
    assert refused.status_code == 422 and 'data-testid="error"' in refused.text
    again = service.client.get(f"/admin/v1/catalogue/{REGISTRATION}", headers=service.admin)
    assert again.json()["pric_uplmt_amt"] == "2.50"


def test_the_console_speaks_english_when_asked(service: Service) -> None:
    client = logged_in(service)
    assert "Operator console" in client.get("/admin/?lang=en").text
    assert "Overdue bills" in client.get("/admin/overdue").text  # the choice is remembered
    assert "运营控制台" in client.get("/admin/?lang=zh").text


def test_a_hospital_name_a_spreadsheet_would_run_is_quoted_in_the_csv(service: Service) -> None:
    answer = service.client.post(
        "/admin/v1/hospitals",
        json={"code": "HQ", "name": '=HYPERLINK("http://x","y")', "level": 2},
        headers=service.admin,
    )
    assert answer.status_code == 201, answer.text
    client = logged_in(service)
    text = client.get("/admin/trends.csv?days=30&hospital=HQ").text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    names = {row["hospital_name"] for row in rows if row["hospital_code"] == "HQ"}
    assert names == {'\'=HYPERLINK("http://x","y")'}


def test_the_overview_names_the_policy_in_force_and_its_settlement_mode(service):
    from tests.integration.payments.support import use_mode

    client = logged_in(service)
    page = client.get("/admin/", params={"date": "2026-11-23"}).text
    assert "医保政策 371400 2026.1：还款时结算" in page
    page = client.get("/admin/", params={"date": "2026-11-23", "lang": "en"}).text
    assert "Insurance policy 371400 2026.1: settled at repayment" in page
    use_mode(service, "visit_end")
    page = client.get("/admin/", params={"date": "2026-11-23", "lang": "en"}).text
    assert "2026.1: the pooled fund settles when the visit ends" in page
