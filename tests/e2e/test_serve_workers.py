"""``shuxin serve --workers N``: several API processes over one database, the scheduler once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.server import clean_environment, free_port, start_process

PRODUCTION = {
    "SHUXIN_MODE": "production",
    "SHUXIN_SECRET_KEY": "workers-test-secret-key-0123456789abcdef",
    "SHUXIN_ADMIN_TOKEN": "workers-test-admin-token-0123456789",
    "SHUXIN_WALLET_SECRET": "workers-test-wallet-secret-0123456789",
}


def test_serve_with_two_workers_answers_from_both_and_runs_the_scheduler_once(tmp_path: Path):
    port = free_port()
    env = clean_environment({**PRODUCTION, "SHUXIN_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    argv = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]
    with start_process(
        argv, port=port, cwd=tmp_path, env=env, log_path=tmp_path / "serve.log"
    ) as server:
        # /health answers as soon as one worker is up; both must be before they are counted.
        server.wait_for_log("Application startup complete", count=2)
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            answers = [client.get("/health") for _ in range(20)]
            admin = {"Authorization": f"Bearer {PRODUCTION['SHUXIN_ADMIN_TOKEN']}"}
            hospitals = client.get("/admin/v1/hospitals", headers=admin)
            # Production loads no demo data, but the catalogue of seeds/ it prices fees with.
            item = client.get("/admin/v1/catalogue/001102000010000", headers=admin)
        log = server.log()
    assert all(answer.status_code == 200 for answer in answers)
    assert hospitals.status_code != 401  # each worker built its app from the same settings
    assert item.status_code == 200, item.text
    assert item.json()["chrgitm_lv"] == "A"
    assert log.count("Started server process") == 2, log
    # The supervisor leads the window; no worker starts a scheduler of its own.
    assert log.count("Application startup complete") == 2, log
    # SQLite serves one writer at a time: the operator is told one worker would do better.
    assert "use one worker on SQLite" in log, log


def test_serve_refuses_several_workers_in_sandbox_mode_where_the_clock_is_per_process(
    tmp_path: Path,
):
    env = clean_environment({"SHUXIN_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--workers", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SHUXIN_MODE=production" in done.stderr
