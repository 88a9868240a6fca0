"""What a person does on the page, step by step, in the browser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import FEE_ITEM, SignedHis, visit_body

#: A class C item (not covered) and a class B one, so the wallet has something to pay.
CLASS_B_ITEM = "001102000040000"


@dataclass
class DemoServer:
    """A served API over a database seeded with the demo world, and its demo hospitals."""

    base_url: str
    secrets: dict[str, str]
    http: httpx.Client

    def his(self, code: str = "H371402001") -> SignedHis:
        return SignedHis(self.http, code, self.secrets[code])

    def sandbox(self, path: str, body: Any = None) -> httpx.Response:
        response = self.http.post(f"/sandbox/v1{path}", json=body or {})
        assert response.status_code == 200, response.text
        return response


def log_in(page: Any, base_url: str, phone: str) -> None:
    """Log in with the SMS code the sandbox shows on the page."""
    page.goto(f"{base_url}/app/login")
    page.get_by_label(re.compile("手机号|Mobile number")).fill(phone)
    page.get_by_role("button", name=re.compile("获取验证码|Send me a code")).click()
    code = re.search(r"\d{6}", page.get_by_test_id("sandbox-code").inner_text())
    assert code is not None
    page.get_by_label(re.compile("^验证码$|^Code$")).fill(code.group(0))
    page.get_by_role("button", name=re.compile("^登录$|^Log in$")).click()
    page.wait_for_url(f"{base_url}/app/")


def follow(page: Any, link: Any, url: str | re.Pattern[str]) -> None:
    """Click ``link`` and wait until the page it leads to (at ``url``) has loaded.

    A click waits for the navigation it starts only if Chromium reports that navigation before
    the click returns; on a busy machine it can report it later, and the page read next is then
    the one before (``.all()`` and ``.count()`` read at once, they wait for nothing).
    """
    link.click()
    page.wait_for_url(url)  # and for its load event: the whole document is parsed


def shoot(page: Any, folder: Path, name: str) -> Path:
    """The whole page at 360 px wide; the window grows to the page's height for the capture so
    the sticky tab bar sits at the end instead of over the content (as a full-page capture
    would draw it)."""
    path = folder / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def charge_and_close(server: DemoServer, psn_no: str, *, number: str) -> str:
    """A hospital's visit for ``psn_no``: open, two lines (30.00 class A, 50.00 class B), close."""
    his = server.his()
    opened = his.request("POST", "/his/v1/visits", visit_body(psn_no, number))
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    batch = {
        "chrg_bchno": f"{number}-1",
        "fees": [
            {
                "feedetl_sn": f"{number}-1",
                "med_list_codg": FEE_ITEM,
                "item_name": "主任医师门诊诊查费",
                "pric": "30.00",
                "cnt": "1",
                "det_item_fee_sumamt": "30.00",
                "fee_ocur_time": "2026-11-23T09:40:00+08:00",
            },
            {
                "feedetl_sn": f"{number}-2",
                "med_list_codg": CLASS_B_ITEM,
                "item_name": "知名专家门诊诊查费",
                "pric": "50.00",
                "cnt": "1",
                "det_item_fee_sumamt": "50.00",
                "fee_ocur_time": "2026-11-23T09:45:00+08:00",
            },
        ],
    }
    charged = his.request("POST", f"/his/v1/visits/{mdtrt_id}/fees", batch)
    assert charged.status_code == 201, charged.text
    closed = his.request("POST", f"/his/v1/visits/{mdtrt_id}/close", {})
    assert closed.status_code == 200, closed.text
    return str(closed.json()["bill_id"])
