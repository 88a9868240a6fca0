"""The window runs itself: ``shuxin serve`` sweeps in the background; ``shuxin scheduler`` alone
does the same next to an API started with ``--no-scheduler``."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from settlement.access.signing import new_nonce, sign_request
from tests.e2e.server import clean_environment, start_process, start_shuxin_serve

PATIENT = "37140000000000000002"
HEALTH_ADVICE = "001110000010000"
WAIT_SECONDS = 45
FAST = {"SHUXIN_SCHEDULER_INTERVAL_SECONDS": "1"}


def leases(folder: Path) -> list[tuple[object, ...]]:
    """The scheduler lease rows of the SQLite file: who led, until when."""
    with sqlite3.connect(folder / "shuxin.db") as db:
        return db.execute("SELECT * FROM scheduler_leases").fetchall()


def his_call(base: str, code: str, secret: str, method: str, path: str, body: object) -> dict:
    content = json.dumps(body).encode()
    headers = sign_request(
        secret, method, path, content, int(time.time()), new_nonce(), hospital_code=code
    )
    headers |= {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    response = httpx.request(method, base + path, content=content, headers=headers, timeout=10)
    assert response.is_success, response.text
    return response.json()


def close_a_bill(base: str, log: str) -> str:
    code, secret = re.findall(r"hospital (H\w+) \(level \d\) secret ([0-9a-f]{64})", log)[0]
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    visit = his_call(
        base,
        code,
        secret,
        "POST",
        "/his/v1/visits",
        {
            "ipt_otp_no": f"MZ{uuid.uuid4().hex[:10]}",
            "psn_no": PATIENT,
            "med_type": "11",
            "dept_code": "A03",
            "dept_name": "内科",
            "dr_name": "王医生",
            "begntime": now,
        },
    )
    mdtrt_id = visit["mdtrt_id"]
    fee = {
        "feedetl_sn": "1",
        "med_list_codg": HEALTH_ADVICE,
        "item_name": "健康咨询",
        # More than the demo patient's 35.60 personal account: the bill waits for the wallet
        # (one the insurance accounts cover settles when it is made, issue 16 item 4).
        "pric": "52.30",
        "cnt": "1",
        "det_item_fee_sumamt": "52.30",
        "fee_ocur_time": now,
    }
    his_call(
        base, code, secret, "POST", f"/his/v1/visits/{mdtrt_id}/fees",
        {"chrg_bchno": "B1", "fees": [fee]},
    )  # fmt: skip
    return str(
        his_call(base, code, secret, "POST", f"/his/v1/visits/{mdtrt_id}/close", {})["bill_id"]
    )


def wait_for_message(base: str, kind: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        messages = httpx.get(f"{base}/sandbox/v1/messages", params={"psn_no": PATIENT}).json()
        found = [m for m in messages if m["kind"] == kind]
        if found:
            return found[0]
        time.sleep(0.3)
    pytest.fail(f"no {kind} message within {WAIT_SECONDS} s")


@pytest.mark.slow
def test_shuxin_serve_sends_reminders_and_makes_a_bill_overdue_without_being_asked(tmp_path):
    with start_shuxin_serve(tmp_path, env=FAST) as server:
        bill_id = close_a_bill(server.base_url, server.log())
        reminder = wait_for_message(server.base_url, "remind_close")
        assert "¥52.30" in reminder["body"] and f"/app/bills/{bill_id}" in reminder["body"]
        moved = httpx.post(f"{server.base_url}/sandbox/v1/clock/advance", json={"hours": 73})
        assert moved.status_code == 200, moved.text
        overdue = wait_for_message(server.base_url, "overdue")
        assert f"/app/bills/{bill_id}" in overdue["body"]
        assert "scheduler" in server.log()


@pytest.mark.slow
def test_shuxin_scheduler_runs_the_sweeps_next_to_an_api_without_one(tmp_path: Path):
    with start_shuxin_serve(tmp_path, env=FAST) as warmup:
        pass  # the first start migrates and seeds the SQLite file
    assert warmup.process.returncode is not None
    leases_after_warmup = leases(tmp_path)
    env = clean_environment({**FAST, "SHUXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'shuxin.db'}"})
    from tests.e2e.server import free_port

    port = free_port()
    api = start_process(
        [sys.executable, "-m", "api.cli", "serve", "--no-scheduler", "--port", str(port)],
        port=port,
        cwd=tmp_path,
        env=env,
        log_path=tmp_path / "api.log",
    )
    with api:
        bill_id = close_a_bill(api.base_url, (tmp_path / "serve.log").read_text())
        # The API alone runs no scheduler: nobody renewed the lease the warm-up start left.
        assert leases(tmp_path) == leases_after_warmup
        listed = httpx.get(f"{api.base_url}/sandbox/v1/messages", params={"psn_no": PATIENT})
        assert listed.json() == []
        log = (tmp_path / "scheduler.log").open("w")
        import subprocess

        scheduler = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "scheduler"], cwd=tmp_path, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            reminder = wait_for_message(api.base_url, "remind_close")
            assert f"/app/bills/{bill_id}" in reminder["body"]
        finally:
            scheduler.terminate()
            assert scheduler.wait(timeout=20) == 0
            log.close()
