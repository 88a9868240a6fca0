"""The page without a browser (TestClient): CSRF, who may see which bill, masking, language."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from api.web.i18n import STRINGS
from tests.harness import Service, build_service

A_ITEM = "001102000030000"


@pytest.fixture
def service(engine: Engine) -> Service:
    # The pages' bills wait for the patient: an empty personal account leaves the wallet a part
    # (a bill the insurance accounts cover settles when it is made, issue 16 item 4).
    return build_service(engine, account_balance="0.00")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None, html
    return found.group(1)


def log_in(service: Service, phone: str) -> Any:
    """A fresh browser-like client, logged in through the page's forms."""
    from fastapi.testclient import TestClient

    client = TestClient(service.client.app)
    csrf = csrf_of(client.get("/app/login").text)
    sent = client.post("/app/login/code", data={"csrf": csrf, "phone": phone})
    code = re.search(r"测试环境验证码：(\d{6})", sent.text)
    assert code is not None, sent.text
    home = client.post("/app/login", data={"csrf": csrf, "phone": phone, "code": code.group(1)})
    assert home.status_code == 200 and home.url.path == "/app/", home.text
    return client


def billed(service: Service, psn_no: str) -> str:
    his = service.hospitals.get("H1") or service.add_hospital("H1")
    mdtrt_id = his.open_visit(psn_no).json()["mdtrt_id"]
    assert his.charge(mdtrt_id, (A_ITEM, "30.00", "1")).status_code == 201
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code == 200, closed.text
    return str(closed.json()["bill_id"])


def test_a_visitor_without_a_session_is_sent_to_the_login_page(service: Service) -> None:
    answer = service.client.get("/app/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login"


def test_the_login_cookie_is_httponly_and_samesite_strict(service: Service) -> None:
    person, _ = service.enrol()
    client = log_in(service, person.phone)
    token_cookie = next(c for c in client.cookies.jar if c.name == "shuxin_token")
    assert token_cookie.has_nonstandard_attr("HttpOnly")
    assert str(token_cookie.get_nonstandard_attr("SameSite")).lower() == "strict"


def test_a_form_posted_without_the_csrf_token_is_refused_and_changes_nothing(
    service: Service,
) -> None:
    person, _ = service.enrol(balc="0.00")
    bill_id = billed(service, person.psn_no)
    client = log_in(service, person.phone)
    for data in ({"wallet": "wechat"}, {"wallet": "wechat", "csrf": "0" * 64}):
        refused = client.post(f"/app/bills/{bill_id}/pay", data=data, follow_redirects=False)
        assert refused.status_code == 403
    assert client.get(f"/app/bills/{bill_id}/status").json()["status"] == "billed"
    login = service.client.post("/app/login/code", data={"phone": person.phone})
    assert login.status_code == 403


def test_a_csrf_token_from_another_session_is_refused(service: Service) -> None:
    person, _ = service.enrol()
    client = log_in(service, person.phone)
    other_csrf = csrf_of(service.client.get("/app/login").text)
    answer = client.post("/app/logout", data={"csrf": other_csrf}, follow_redirects=False)
    assert answer.status_code == 403
    assert client.get("/app/", follow_redirects=False).status_code == 200


def test_a_patient_cannot_open_or_pay_another_patients_bill(service: Service) -> None:
    owner, _ = service.enrol()
    other, _ = service.enrol()
    bill_id = billed(service, owner.psn_no)
    client = log_in(service, other.phone)
    page = client.get(f"/app/bills/{bill_id}")
    assert page.status_code == 404
    assert "¥30.00" not in page.text and "测试医院" not in page.text
    csrf = csrf_of(client.get("/app/").text)
    paid = client.post(
        f"/app/bills/{bill_id}/pay", data={"csrf": csrf, "wallet": "wechat"}, follow_redirects=False
    )
    assert paid.status_code == 404
    assert client.get(f"/app/bills/{bill_id}/status").status_code == 404
    assert client.get(f"/app/family/{owner.psn_no}").status_code == 404
    owners = log_in(service, owner.phone)
    assert owners.get(f"/app/bills/{bill_id}/status").json()["status"] == "billed"


def test_the_id_number_and_phone_are_shown_masked_only(service: Service) -> None:
    person, _ = service.enrol()
    client = log_in(service, person.phone)
    for path in ("/app/", "/app/agreement", "/app/messages", "/app/family"):
        html = client.get(path).text
        assert person.certno not in html and person.phone not in html, path
    home = client.get("/app/").text
    assert f"{person.certno[:4]}**********{person.certno[-4:]}" in home
    assert f"{person.phone[:3]}****{person.phone[-4:]}" in home


def test_an_unsigned_patient_signs_through_the_form_and_sees_the_line(service: Service) -> None:
    person = service.add_person()
    client = log_in(service, person.phone)
    page = client.get("/app/agreement").text
    assert 'name="autopay" value="on_close"' in page
    version = re.search(r'name="version" value="(\d+)"', page)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert version and key
    form = {
        "csrf": csrf_of(page),
        "version": version.group(1),
        "idempotency_key": key.group(1),
        "psn_name": person.psn_name,
        "certno": person.certno,
        "autopay": "on_close",
        "accept": "yes",
    }
    signed = client.post("/app/agreement", data=form)
    assert signed.status_code == 200 and signed.url.query == b"signed=1"
    assert "签约成功" in signed.text
    again = client.post("/app/agreement", data=form)
    assert again.status_code == 200, "a double submit replays the same answer"


def test_a_wrong_id_number_is_refused_with_words_and_not_echoed(service: Service) -> None:
    person = service.add_person()
    client = log_in(service, person.phone)
    page = client.get("/app/agreement").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    wrong = person.certno[:-4] + "0000"
    answer = client.post(
        "/app/agreement",
        data={
            "csrf": csrf_of(page),
            "version": version.group(1),
            "psn_name": person.psn_name,
            "certno": wrong,
            "autopay": "off",
            "accept": "yes",
        },
    )
    assert answer.status_code == 422
    assert "身份证号" in answer.text
    assert wrong not in answer.text


def test_english_is_a_parameter_then_a_cookie_and_amounts_read_as_yuan(service: Service) -> None:
    person, _ = service.enrol(balc="0.00")
    bill_id = billed(service, person.psn_no)
    client = log_in(service, person.phone)
    english = client.get("/app/?lang=en").text
    assert "My bills" in english and "¥30.00" in english
    detail = client.get(f"/app/bills/{bill_id}").text
    assert "Wallet (WeChat Pay / Alipay)" in detail and "¥30.00" in detail
    assert "26 Nov 2026 09:30" in detail, "the deadline in Asia/Shanghai (closed 09:30 + 72 h)"
    chinese = client.get("/app/?lang=zh").text
    assert "我的账单" in chinese


def test_every_page_is_sent_with_a_content_security_policy_and_no_caching(
    service: Service,
) -> None:
    answer = service.client.get("/app/login")
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert service.client.get("/app/static/app.css").status_code == 200


def test_every_string_has_chinese_and_english() -> None:
    for key, (zh, en) in STRINGS.items():
        assert zh and en, key
        assert re.findall(r"{\w+}", zh) == re.findall(r"{\w+}", en), key


# -- family and agreement screens: proxy signing, declining, ending a link, revoking -------------


def bearer(service: Service, person: Any) -> dict[str, str]:
    """An API bearer header issued directly (the page logs in by SMS; codes are rate limited)."""
    from tests.integration.payments.support import login

    return login(service, person)


def family_pair(service: Service, *, sign_relative: bool = True) -> tuple[Any, Any, Any]:
    """A signed manager and a relative linked through the API; the manager's page client."""
    from tests.integration.family.support import link

    manager, _ = service.enrol()
    relative = service.add_person(balc="0.00")
    if sign_relative:
        service.sign(relative)
    link(service, bearer(service, manager), relative, bearer(service, relative))
    return manager, relative, log_in(service, manager.phone)


def test_a_manager_signs_the_agreement_for_a_relative_on_the_proxy_form(service: Service) -> None:
    _, relative, client = family_pair(service, sign_relative=False)
    overview = client.get(f"/app/family/{relative.psn_no}").text
    assert f'href="/app/family/{relative.psn_no}/agreement"' in overview
    page = client.get(f"/app/family/{relative.psn_no}/agreement")
    assert page.status_code == 200 and 'data-testid="proxy-sign-form"' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert version and key
    form = {
        "version": version.group(1),
        "idempotency_key": key.group(1),
        "psn_name": relative.psn_name,
        "certno": relative.certno,
        "autopay": "off",
        "accept": "yes",
    }
    path = f"/app/family/{relative.psn_no}/agreement"
    assert client.post(path, data=form, follow_redirects=False).status_code == 403
    mistake = {**form, "csrf": csrf_of(page.text), "certno": "1" * 18, "idempotency_key": "k-1"}
    wrong = client.post(path, data=mistake)
    assert wrong.status_code == 422 and "1" * 18 not in wrong.text

    signed = client.post(path, data={**form, "csrf": csrf_of(page.text)})

    assert signed.status_code == 200 and signed.url.path == f"/app/family/{relative.psn_no}"
    assert "已为" in signed.text and "签约" in signed.text
    relatives_credit = service.client.get("/v1/me/credit", headers=bearer(service, relative))
    assert relatives_credit.json()["status"] == "active"
    # Someone who does not manage the relative gets nothing.
    stranger, _ = service.enrol()
    assert log_in(service, stranger.phone).get(path).status_code == 404


def test_a_relative_declines_an_invitation_on_the_family_page(service: Service) -> None:
    from tests.integration.family.support import invite

    manager, _ = service.enrol()
    relative = service.add_person()
    invitation = invite(service, bearer(service, manager), relative).json()["invitation_id"]
    client = log_in(service, relative.phone)
    page = client.get("/app/family").text
    action = f"/app/family/invitations/{invitation}/decline"
    assert f'action="{action}"' in page
    assert client.post(action, data={}, follow_redirects=False).status_code == 403

    declined = client.post(action, data={"csrf": csrf_of(page)})

    assert declined.status_code == 200 and "已拒绝邀请" in declined.text
    listed = service.client.get("/v1/family/invitations", headers=bearer(service, relative))
    assert listed.json()["invitations"] == []
    assert client.post(action, data={"csrf": csrf_of(page)}).status_code == 404


def test_ending_a_link_asks_first_and_is_refused_while_the_relative_uses_the_managers_credit(
    service: Service,
) -> None:
    manager, relative, client = family_pair(service)
    his = service.add_hospital("H1")
    own = service.client.get("/v1/me/credit", headers=bearer(service, relative)).json()
    mdtrt_id = his.open_visit(relative.psn_no).json()["mdtrt_id"]
    over = f"{Decimal(own['available']) + 10:.2f}"  # beyond the relative's own line
    assert his.charge(mdtrt_id, ("UNLISTED-ITEM", over, "1")).status_code == 201
    page = client.get(f"/app/family/{relative.psn_no}/end")
    assert page.status_code == 200 and 'data-testid="end-link-button"' in page.text
    action = f"/app/family/{relative.psn_no}/end"
    assert client.post(action, data={}, follow_redirects=False).status_code == 403

    refused = client.post(action, data={"csrf": csrf_of(page.text)})

    assert refused.status_code == 409 and "请先结清" in refused.text
    assert his.delete(f"/his/v1/visits/{mdtrt_id}/fees/{his_fee(service, mdtrt_id)}").is_success
    ended = client.post(action, data={"csrf": csrf_of(page.text)})
    assert ended.status_code == 200 and "已解除关联" in ended.text
    members = service.client.get("/v1/family/members", headers=bearer(service, manager)).json()
    assert members["relatives"] == []
    # The relative's side of the link is gone too; a stranger's end page is not found.
    assert (
        log_in(service, relative.phone).get(f"/app/family/{manager.psn_no}/end").status_code == 404
    )


def his_fee(service: Service, mdtrt_id: str) -> str:
    visit = service.hospitals["H1"].get(f"/his/v1/visits/{mdtrt_id}").json()
    return str(visit["fees"][0]["feedetl_sn"])


def test_a_patient_revokes_their_own_agreement_only_with_nothing_owed(service: Service) -> None:
    person, _ = service.enrol()
    client = log_in(service, person.phone)
    assert 'href="/app/agreement/revoke"' in client.get("/app/agreement").text
    bill_id = billed(service, person.psn_no)
    page = client.get("/app/agreement/revoke")
    assert page.status_code == 200 and 'data-testid="revoke-button"' in page.text
    assert client.post("/app/agreement/revoke", data={}, follow_redirects=False).status_code == 403

    refused = client.post("/app/agreement/revoke", data={"csrf": csrf_of(page.text)})

    assert refused.status_code == 409 and "请先结清" in refused.text
    csrf = csrf_of(client.get(f"/app/bills/{bill_id}").text)
    client.post(f"/app/bills/{bill_id}/pay", data={"csrf": csrf, "wallet": "wechat"})
    assert client.get(f"/app/bills/{bill_id}/status").json()["status"] == "settled"
    revoked = client.post("/app/agreement/revoke", data={"csrf": csrf_of(page.text)})
    assert revoked.status_code == 200 and revoked.url.query == b"revoked=1"
    assert "服务协议已解除" in revoked.text
    credit = service.client.get("/v1/me/credit", headers=bearer(service, person)).json()
    assert credit["status"] == "not_signed"


def test_a_manager_following_a_reminder_link_sees_the_relatives_bill(service: Service) -> None:
    _, relative, client = family_pair(service)
    bill_id = billed(service, relative.psn_no)
    page = client.get(f"/app/bills/{bill_id}")
    assert page.status_code == 200, page.text
    assert "¥30.00" in page.text and 'data-testid="pay-button"' in page.text
    assert client.get(f"/app/bills/{bill_id}/status").json()["status"] == "billed"
