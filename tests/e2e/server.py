"""A real ``uvicorn`` server in a subprocess, for end-to-end tests and benchmarks.

Two ways to start one:

- :func:`start_shuxin_serve` runs ``shuxin serve`` itself in a folder (migrations, demo seeding and
  all), as an operator would;
- :func:`start_app_server` serves the application over a database the caller has already built and
  seeded (a test's own PostgreSQL schema, a benchmark's SQLite file): no migrations, no demo data,
  no scheduler. Run as ``python -m tests.e2e.server``, it builds the app from ``SHUXIN_*`` like
  ``shuxin serve`` and runs it with the same uvicorn settings (:data:`UVICORN_OPTIONS`);
  ``--bare`` serves a one-route FastAPI app instead, the baseline of the API benchmark, and
  ``--app module:function`` another app factory (the benchmark's honest write).

:func:`seed_world` creates hospitals and signed patients through the service layer, over the same
database, with a wall clock (the server checks signatures against real time).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from api.serving import settle_garbage_collector
from settlement.foundation.progress import NO_PROGRESS, Progress

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_schema_url(url: str, schema: str) -> str:
    """``url`` with every connection's ``search_path`` set to ``schema`` (psycopg ``options``)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


@dataclass
class ServerProcess:
    """A started server; :meth:`stop` (or leaving the ``with`` block) terminates it."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: Any = field(repr=False, default=None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, *, count: int = 1, seconds: float = STARTUP_SECONDS) -> str:
        """The log once ``text`` appears ``count`` times in it (or fail with the log)."""
        deadline = time.monotonic() + seconds
        while True:
            log = self.log()
            if log.count(text) >= count:
                return log
            if time.monotonic() >= deadline or self.process.poll() is not None:
                raise AssertionError(f"{text!r} not {count} times in the log:\n{log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``SHUXIN_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUXIN_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def start_process(
    argv: Sequence[str],
    *,
    port: int,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    startup_seconds: float = STARTUP_SECONDS,
) -> ServerProcess:
    """Start ``argv`` and wait until ``/health`` on ``port`` answers 200 (or fail with its log)."""
    log = log_path.open("w")
    process = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path, log)
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"the server did not answer /health in {startup_seconds} s:\n{server.log()}")


def start_shuxin_serve(folder: Path, *, env: Mapping[str, str] | None = None) -> ServerProcess:
    """``shuxin serve`` in ``folder`` with a clean environment (a local SQLite file by default)."""
    port = free_port()
    return start_process(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        port=port,
        cwd=folder,
        env=clean_environment(env),
        log_path=folder / "serve.log",
    )


def start_app_server(
    folder: Path,
    *,
    database_url: str = "",
    settings: Mapping[str, str] | None = None,
    workers: int = 1,
    bare: bool = False,
    app: str | None = None,
    access_log: bool = True,
    environment: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Serve the API over ``database_url`` as it is (or the bare baseline app) on a free port.

    ``settings`` are more ``SHUXIN_*`` variables (``SHUXIN_SECRET_KEY``, ``SHUXIN_ADMIN_TOKEN``…);
    ``app`` another app factory (``module:function``, a benchmark's); ``environment`` more
    variables for the server's processes.
    """
    port = free_port()
    argv = [sys.executable, "-m", "tests.e2e.server", "--port", str(port)]
    argv += ["--workers", str(workers)]
    if bare:
        argv.append("--bare")
    if app is not None:
        argv += ["--app", app]
    if not access_log:
        argv.append("--no-access-log")
    extra = {"SHUXIN_DATABASE_URL": database_url, **(settings or {}), **(environment or {})}
    return start_process(
        argv,
        port=port,
        cwd=folder,
        env=clean_environment(extra),
        log_path=folder / f"server-{port}.log",
    )


# -- seeding through the service layer -----------------------------------------------------------


@dataclass(frozen=True)
class SeededHospital:
    code: str
    secret: str


@dataclass
class World:
    """What :func:`seed_world` created: hospitals with their secrets, signed patients and lines."""

    hospitals: list[SeededHospital]
    patients: list[tuple[str, Any]]  # (psn_no, line as Decimal)
    settings: dict[str, str]
    container: Any = field(repr=False, default=None)  # the seeding Container, wall clock


def seed_world(
    engine: Engine, *, hospitals: Sequence[str], patients: int, progress: Progress = NO_PROGRESS
) -> World:
    """Hospitals (random salts, level 3) and signed patients, with the harness's secret key."""
    from settlement.bootstrap import bootstrap
    from settlement.foundation.clock import AdjustableClock
    from settlement.foundation.config import Settings
    from settlement.seeding import seed_catalogue
    from tests.harness import ADMIN_TOKEN, SECRET_KEY, Service

    clock = AdjustableClock()  # real time: the server checks signatures against it
    settings = Settings(
        database_url="sqlite://", admin_token=ADMIN_TOKEN, secret_key=SECRET_KEY, mode="sandbox"
    )
    container = bootstrap(settings, engine=engine, clock=clock)
    seed_catalogue(container)
    service = Service(container=container, client=None, clock=clock)  # type: ignore[arg-type]
    seeded = [SeededHospital(code, service.add_hospital(code).secret) for code in hospitals]
    people = []
    progress.stage("signed patients", patients)
    for _ in range(patients):
        person, line = service.enrol()
        people.append((person.psn_no, line))
        progress.advance()
    return World(
        seeded,
        people,
        {"SHUXIN_SECRET_KEY": SECRET_KEY, "SHUXIN_ADMIN_TOKEN": ADMIN_TOKEN},
        container,
    )


# -- signed HIS requests over real HTTP ----------------------------------------------------------


def visit_body(psn_no: str, ipt_otp_no: str) -> dict[str, str]:
    return {
        "ipt_otp_no": ipt_otp_no,
        "psn_no": psn_no,
        "med_type": "11",
        "dept_code": "A03",
        "dept_name": "内科",
        "dr_name": "王医生",
        "begntime": "2026-11-23T09:30:00+08:00",
    }


#: A class A item (主任医师门诊诊查费) whose cap does not bite at 10.00 a line.
FEE_ITEM = "001102000030000"


def fee_batch_body(batch: str, lines: int, price: str) -> dict[str, Any]:
    """A batch of ``lines`` lines of ``price`` each; ``feedetl_sn`` derived from ``batch``."""
    return {
        "chrg_bchno": batch,
        "fees": [
            {
                "feedetl_sn": f"{batch}-{n}",
                "med_list_codg": FEE_ITEM,
                "item_name": "主任医师门诊诊查费",
                "pric": price,
                "cnt": "1",
                "det_item_fee_sumamt": price,
                "fee_ocur_time": "2026-11-23T09:40:00+08:00",
            }
            for n in range(lines)
        ],
    }


@dataclass
class SignedHis:
    """An HIS over real HTTP: signs each request with wall-clock time and a fresh nonce."""

    client: httpx.Client
    code: str
    secret: str

    def request(
        self, method: str, path: str, body: Any = None, *, key: str | None = None
    ) -> httpx.Response:
        from settlement.access.signing import new_nonce, sign_request

        content = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(
            self.secret,
            method,
            path,
            content,
            int(time.time()),
            new_nonce(),
            hospital_code=self.code,
        )
        headers["Content-Type"] = "application/json"
        if method in ("POST", "DELETE"):
            headers["Idempotency-Key"] = key or uuid.uuid4().hex
        return self.client.request(method, path, content=content, headers=headers)


# -- the served process --------------------------------------------------------------------------


def container_from_env() -> Any:
    """The service's container over ``SHUXIN_DATABASE_URL`` as it is, as ``shuxin serve`` wires it."""
    from settlement.bootstrap import bootstrap
    from settlement.foundation.config import load_settings

    settings = load_settings()
    settings.check_can_start()
    return bootstrap(settings)


def build_app_from_env() -> FastAPI:
    """The API over ``SHUXIN_DATABASE_URL`` as it is: no migration, no seeding, no scheduler."""
    from api.app import create_app

    app = create_app(container_from_env())
    settle_garbage_collector()  # as `shuxin serve` does
    return app


def build_bare_app() -> FastAPI:
    """The benchmark's baseline: one route returning a constant, no database; its process's
    collector is set as the API's."""
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare")
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/worker")
    def worker() -> dict[str, int]:
        """Which worker process answered (for the tests of ``api.workers``)."""
        return {"pid": os.getpid()}

    settle_garbage_collector()
    return app


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    # The uvicorn settings of ``shuxin serve``, so what is measured is what runs.
    from api.cli import UVICORN_OPTIONS
    from api.workers import Workers

    parser = argparse.ArgumentParser(prog="python -m tests.e2e.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--app", help="another app factory, module:function")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    factory = "build_bare_app" if args.bare else "build_app_from_env"
    from api.logs import configure_logging_from_environment

    configure_logging_from_environment()
    options = {
        "app": args.app or f"tests.e2e.server:{factory}",
        "factory": True,
        "access_log": not args.no_access_log,
        **UVICORN_OPTIONS,
    }
    if args.workers > 1:  # as `shuxin serve --workers N` runs them
        return Workers(options, host="127.0.0.1", port=args.port, count=args.workers).run()
    uvicorn.run(host="127.0.0.1", port=args.port, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
