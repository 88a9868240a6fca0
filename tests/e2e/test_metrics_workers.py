"""``shuxin serve --workers 2``: ``/metrics`` from either worker is the sum of both processes.

Requests go to both workers (each on a new connection: the kernel spreads connections over
the workers' ``SO_REUSEPORT`` sockets), which worker answered each is read from its JSON access
line, and every scrape, whichever worker answers it, must count all of them. The figures are
read with prometheus_client's own parser, and their names and labels checked against
Prometheus's conventions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import ServerProcess, clean_environment, free_port, start_process
from tests.e2e.test_serve_workers import PRODUCTION
from tests.metrics_scrape import Scrape, convention_problems, parse, value

METRICS_TOKEN = "scraper-token-0123456789abcdef"
REQUESTS = 60


def json_lines(log: str) -> list[dict[str, Any]]:
    """The log's JSON lines (the start-up banner on standard output is plain text)."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def access_lines(server: ServerProcess, prefix: str, count: int) -> dict[str, int]:
    """Request id -> the pid of the worker that answered, once ``count`` requests are logged
    (a worker writes its line as it answers: on a busy machine it may come a while later)."""
    deadline = time.monotonic() + 60
    while True:
        answered = {
            line["request_id"]: line["pid"]
            for line in json_lines(server.log())
            if line["logger"] == "uvicorn.access" and line.get("request_id", "").startswith(prefix)
        }
        if len(answered) >= count or time.monotonic() > deadline:
            return answered
        time.sleep(0.1)


def scrape(server: ServerProcess, request_id: str) -> Scrape:
    response = httpx.get(  # a new connection each time: either worker may answer
        f"{server.base_url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}", "X-Request-ID": request_id},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return parse(response.text)[1]


def scrapes_from_every_worker(
    server: ServerProcess, workers: set[int]
) -> tuple[list[Scrape], set[int]]:
    """At least 8 scrapes, on new connections, until each of ``workers`` has answered one; and
    the workers that answered them. The kernel hashes each connection to a worker: 8 scrapes
    all went to one of two workers once in 128 runs, so more are made until both have answered
    (64 all to one: once in 2**63)."""
    scrapes: list[Scrape] = []
    scraped_by: set[int] = set()
    while len(scrapes) < 8 or (scraped_by != workers and len(scrapes) < 64):
        prefix = f"scrape-{len(scrapes)}-"
        scrapes.append(scrape(server, prefix))
        scraped_by |= set(access_lines(server, prefix, 1).values())
    return scrapes, scraped_by


def leave_a_stale_file(folder: Path) -> None:
    """What a process of an earlier run left: 5 requests to a route this run never serves."""
    code = (
        "from prometheus_client import Counter\n"
        "Counter('shuxin_http_requests', 'x', ['method', 'route', 'status'])"
        ".labels('GET', '/stale', '200').inc(5)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert list(folder.glob("counter_*.db"))


def test_two_workers_metrics_add_up_whichever_answers_and_a_dead_workers_gauges_go(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    leave_a_stale_file(metrics_dir)
    port = free_port()
    env = clean_environment(
        {
            **PRODUCTION,
            "SHUXIN_DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
            "SHUXIN_METRICS_TOKEN": METRICS_TOKEN,
            "SHUXIN_METRICS_DIR": str(metrics_dir),
        }
    )
    argv = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]
    with start_process(
        argv, port=port, cwd=tmp_path, env=env, log_path=tmp_path / "serve.log"
    ) as server:
        server.wait_for_log("Application startup complete", count=2)
        for n in range(REQUESTS):
            answer = httpx.get(
                f"{server.base_url}/health/live", headers={"X-Request-ID": f"live-{n}"}, timeout=10
            )
            assert answer.status_code == 200
            assert answer.headers["X-Request-ID"] == f"live-{n}"
        served = access_lines(server, "live-", REQUESTS)
        assert len(served) == REQUESTS
        per_worker = Counter(served.values())
        assert len(per_worker) == 2, per_worker  # both workers answered some

        scrapes, scraped_by = scrapes_from_every_worker(server, set(per_worker))
        live = {"method": "GET", "route": "/health/live", "status": "200"}
        for figures in scrapes:
            assert value(figures, "shuxin_http_requests_total", **live) == REQUESTS
            assert value(figures, "shuxin_http_request_duration_seconds_count", **live) == REQUESTS
            assert not any(dict(labels).get("route") == "/stale" for _, labels in figures)
        assert scraped_by == set(per_worker), "each worker answered a scrape with the sum"

        text = httpx.get(
            f"{server.base_url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        ).text
        families, figures = parse(text)
        paths = set(httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()["paths"])
        routes = paths | {"/metrics", "unmatched", "/app/static/{path}"}
        assert convention_problems(families, routes) == []
        # The supervisor's scheduler is in the sum too: it ran its sweeps at start (in its own
        # thread: the workers may have started first).
        server.wait_for_log("executed successfully")  # APScheduler's line for a finished run
        assert value(figures, "shuxin_scheduler_sweep_runs_total", sweep="overdue", outcome="ok")
        assert value(figures, "shuxin_scheduler_leading") == 1
        # Three processes, each with a pool of 5 + 10 (SQLite's default).
        pools = value(figures, "shuxin_db_pool_max_connections")
        assert pools == 3 * 15

        # A worker dies: the supervisor replaces it and forgets its live gauges; what it
        # counted stays counted.
        victim = next(iter(per_worker))
        os.kill(victim, signal.SIGKILL)
        server.wait_for_log("Application startup complete", count=3)
        after = scrape(server, "after-death")
        assert value(after, "shuxin_db_pool_max_connections") == pools
        assert value(after, "shuxin_http_requests_total", **live) == REQUESTS
        log = server.log()
    assert f"worker {victim} exited" in log
    # Every log line is one JSON object; the rest is the start-up banner on standard output.
    banner = ("catalogue: ", "Shuxin (production) on ", "  API ", "  patients ", "warning: SQLite")
    for line in log.splitlines():
        if not line.startswith(banner):
            assert isinstance(json.loads(line), dict), line


def test_a_scheduler_run_apart_serves_its_sweeps_on_a_port_of_its_own(tmp_path):
    port = free_port()
    env = clean_environment({"SHUXIN_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"], cwd=tmp_path, env=env, check=True, timeout=120
    )
    argv = [sys.executable, "-m", "api.cli", "scheduler", "--metrics-port", str(port)]
    with (tmp_path / "scheduler.log").open("w") as log:
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            figures: Scrape = {}
            while time.monotonic() < deadline:
                try:
                    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                figures = parse(text)[1]
                if value(
                    figures, "shuxin_scheduler_sweep_runs_total", sweep="overdue", outcome="ok"
                ):
                    break
                time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert value(figures, "shuxin_scheduler_sweep_runs_total", sweep="overdue", outcome="ok") == 1
    assert value(figures, "shuxin_scheduler_leading") == 1
