"""``shuxin serve`` on a fresh folder: migrates, loads the demo world, answers signed HIS calls."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from settlement.access.signing import new_nonce, sign_request
from tests.e2e.server import start_shuxin_serve


@pytest.fixture
def served(tmp_path: Path):
    with start_shuxin_serve(tmp_path) as server:
        yield server.base_url, tmp_path


def test_a_first_start_creates_a_sqlite_file_and_loads_the_demo_world(served):
    base, folder = served
    assert (folder / "shuxin.db").exists()
    output = (folder / "serve.log").read_text()
    secrets = dict(re.findall(r"hospital (H\w+) \(level \d\) secret ([0-9a-f]{64})", output))
    assert len(secrets) == 4
    code, secret = next(iter(secrets.items()))
    path = "/his/v1/patients/37140000000000000002/credit"
    headers = sign_request(
        secret, "GET", path, b"", int(time.time()), new_nonce(), hospital_code=code
    )
    response = httpx.get(base + path, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert Decimal(600) <= Decimal(body["credit_line"]) <= Decimal(1000)
    assert json.loads(httpx.get(f"{base}/health").text)["database"] == "sqlite"
