"""The agreement page: Markdown rendered by a Markdown library and sanitised; errors at the top."""

from __future__ import annotations

import re

from api.web.views import agreement_html
from tests.integration.pages.conftest import browse


def test_the_agreement_page_renders_the_markdown_headings_and_lists(service):
    person = service.add_person()
    page = browse(service, person).get("/app/agreement")

    assert page.status_code == 200
    text = page.text.split('data-testid="agreement-text">', 1)[1].split("</div>", 1)[0]
    assert "##" not in text
    assert "<h3>一、服务内容</h3>" in text
    assert re.search(r"<ol>\s*<li>乙方根据甲方的个人信用状况", text)


def test_markdown_html_and_script_links_are_not_passed_through():
    html = str(
        agreement_html(
            "## 条款\n"
            "<script>alert(1)</script>\n\n"
            '<img src=x onerror="alert(1)">\n\n'
            "[点此](javascript:alert(1)) and [协议](https://example.org/a) **重要**"
        )
    )

    assert "<h3>条款</h3>" in html
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;img" in html  # shown as text, not an element
    assert 'href="javascript' not in html
    assert '<a href="https://example.org/a"' in html
    assert "<strong>重要</strong>" in html


def test_a_wrong_id_number_is_shown_at_the_top_and_takes_the_focus(service):
    person = service.add_person()
    browser = browse(service, person)
    version = re.search(r'name="version" value="(\d+)"', browser.get("/app/agreement").text)
    assert version

    page = browser.post(
        "/app/agreement",
        {
            "psn_name": person.psn_name,
            "certno": "37140219800501000X",
            "version": version.group(1),
            "accept": "yes",
            "autopay": "off",
        },
    )

    assert page.status_code in (403, 422)
    main = page.text.split('<main id="main">', 1)[1]
    error = re.search(r"<p [^>]*data-testid=\"error\"[^>]*>", main)
    assert error, "the error is shown"
    assert main.index(error.group(0)) < main.index("agreement-text"), "above the agreement"
    assert "autofocus" in error.group(0) and 'tabindex="-1"' in error.group(0)
    assert main.count('data-testid="error"') == 1
