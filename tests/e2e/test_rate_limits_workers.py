"""Rate limits hold across API processes: two workers on PostgreSQL count the same hits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import postgres_schema_url, start_app_server
from tests.harness import ADMIN_TOKEN, SECRET_KEY


@pytest.mark.postgres
def test_two_workers_refuse_past_one_shared_limit(engine, postgres_only: Any, tmp_path: Path):
    settings = {
        "SHUXIN_MODE": "production",
        "SHUXIN_SECRET_KEY": SECRET_KEY,
        "SHUXIN_ADMIN_TOKEN": ADMIN_TOKEN,
        "SHUXIN_WALLET_SECRET": "wallet-secret-0123456789abcdef",
        # A day's window: a run never straddles two (unless it starts at midnight UTC).
        "SHUXIN_RATE_LIMIT_OTP_PER_CLIENT": "10/day",
    }
    url = postgres_schema_url(postgres_only.url, postgres_only.schema)
    with start_app_server(tmp_path, database_url=url, settings=settings, workers=2) as server:
        statuses = []
        for n in range(30):  # a new connection each: the kernel spreads them over both workers
            with httpx.Client(base_url=server.base_url, timeout=30) as client:
                answer = client.post("/v1/auth/otp", json={"phone": f"1390000{n:04d}"})
                statuses.append(answer.status_code)
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 20, statuses
