"""Headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright, against a real server.

Where no Chromium is installed the browser tests are skipped with a reason, unless
``SHUXIN_REQUIRE_BROWSER=1`` (``.ci/run``) makes a missing browser a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.database import PostgresTestDatabase
from tests.e2e.browser.pages import DemoServer
from tests.e2e.server import postgres_schema_url, start_app_server

REQUIRE_BROWSER_ENV = "SHUXIN_REQUIRE_BROWSER"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: A small phone: the page must work at 360 px wide.
PHONE = {"width": 360, "height": 780}

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get(REQUIRE_BROWSER_ENV),
    reason="no Chromium installed: `apt-get install chromium` to run the browser tests "
    f"(.ci/run installs it and sets {REQUIRE_BROWSER_ENV}=1)",
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail(f"{REQUIRE_BROWSER_ENV} is set but no chromium is on PATH")
    if os.environ.get(REQUIRE_BROWSER_ENV):
        from playwright.sync_api import sync_playwright  # required: an ImportError fails the run
    else:
        sync_playwright = pytest.importorskip(
            "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'"
        ).sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def demo_server(
    engine: Engine, postgres_database: PostgresTestDatabase | None, tmp_path: Path
) -> Iterator[DemoServer]:
    """The demo world (as ``shuxin serve`` loads it) in this test's database, served by uvicorn."""
    from settlement.bootstrap import bootstrap
    from settlement.foundation.clock import AdjustableClock
    from settlement.foundation.config import Settings
    from settlement.seeding import seed_all
    from tests.harness import ADMIN_TOKEN, SECRET_KEY

    settings = Settings(
        database_url="sqlite://", admin_token=ADMIN_TOKEN, secret_key=SECRET_KEY, mode="sandbox"
    )
    container = bootstrap(settings, engine=engine, clock=AdjustableClock())
    printed = "\n".join(seed_all(container, demo=True))
    secrets = dict(re.findall(r"hospital (H\w+) \(level \d\) secret ([0-9a-f]{64})", printed))
    if postgres_database is not None:
        url = postgres_schema_url(postgres_database.url, postgres_database.schema)
    else:
        url = engine.url.render_as_string(hide_password=False)
    server = start_app_server(
        tmp_path,
        database_url=url,
        settings={
            "SHUXIN_SECRET_KEY": SECRET_KEY,
            "SHUXIN_ADMIN_TOKEN": ADMIN_TOKEN,
            "SHUXIN_MODE": "sandbox",
        },
        access_log=False,
    )
    with server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield DemoServer(server.base_url, secrets, http)


@pytest.fixture
def screenshots(artifacts_dir: Path) -> Path:
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) the size of a small phone."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
    context.set_default_timeout(15_000)
    yield context
    context.close()
