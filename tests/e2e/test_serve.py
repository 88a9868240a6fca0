"""``shuxin serve`` on a fresh folder: migrates, loads the demo world, answers signed HIS calls."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from settlement.access.signing import new_nonce, sign_request

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUXIN_")}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("shuxin serve did not answer /health in time")
        yield base, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


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
