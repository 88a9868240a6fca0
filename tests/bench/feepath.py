"""CPU per fee batch inside one process, next to a bare endpoint's: ``python -m tests.bench feepath``.

Options: ``[--postgres URL] [--no-sqlite] [--batches N] [--runs R] [--show-statements]``.

The HTTP benchmark (``tests.bench api``) says how fast the service is; this one says where a
change moved its cost, steadily enough to compare two commits on a shared, noisy machine. It
builds the app in this process over a fresh database (SQLite, and PostgreSQL when given), signs
and posts ``--batches`` charge batches of 5 lines through Starlette's test client, and reads the
process's CPU time (all threads: the event loop's and the thread pool's) per batch. The baseline
is the same client posting the same bodies to a bare FastAPI endpoint in the same run. Printed:
medians over ``--runs`` of milliseconds of CPU per request, the ratio (fee batch ÷ bare), and
the SQL statements per batch, counted at the driver (``tests/bench/support/statements.py``;
batches post one at a time here, so each is a group of one); ``--show-statements`` prints one
batch's statements in full. The last line is one JSON object of the figures.

To see where the time goes, run it under a profiler that follows threads (yappi with
``set_clock_type("cpu")``); cProfile sees only the main thread, not the routes.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.bench.api import open_visits
from tests.bench.ledger import postgres_engine, sqlite_engine
from tests.bench.support import POSTGRES_HELP, default_postgres
from tests.bench.support.loadgen import BATCHES_PER_VISIT, LINES_PER_BATCH, signed_headers
from tests.bench.support.statements import SANDBOX_PREFIX, count_engine, format_purposes
from tests.e2e.server import build_bare_app, fee_batch_body, seed_world

WARMUP = 50


def cpu_per_request(send: Callable[[int], None], count: int) -> float:
    """Milliseconds of this process's CPU (every thread) per call of ``send``."""
    started = time.process_time()
    for n in range(count):
        send(n)
    return (time.process_time() - started) * 1000 / count


@contextmanager
def fee_sender(app: Any, world: Any, batches: int) -> Iterator[Callable[[int], None]]:
    """Posts batch ``n`` (new each time) to visits opened for this run."""
    from fastapi.testclient import TestClient

    visits = open_visits(world, [(batches + WARMUP) // BATCHES_PER_VISIT + 1])[0]
    hospital = world.hospitals[0]
    run = uuid.uuid4().hex[:6]
    with TestClient(app) as client:

        def send(n: int) -> None:
            visit = visits[n // BATCHES_PER_VISIT]
            body = json.dumps(fee_batch_body(f"F{run}N{n}", LINES_PER_BATCH, "0.01")).encode()
            path = f"/his/v1/visits/{visit}/fees"
            key = uuid.uuid4().hex
            headers = dict(signed_headers(hospital.secret, hospital.code, "POST", path, body, key))
            headers["Content-Type"] = "application/json"
            answer = client.post(path, content=body, headers=headers)
            if answer.status_code != 201:
                raise RuntimeError(f"a fee batch failed: {answer.status_code} {answer.text}")

        for n in range(WARMUP):
            send(batches + n)  # numbers past the measured ones: every batch is new
        yield send


def fee_app(engine: Any) -> tuple[Any, Any]:
    """The API over ``engine``, and the world it serves (one hospital, one signed patient)."""
    from api.app import create_app
    from settlement.bootstrap import bootstrap
    from settlement.foundation.config import Settings

    world = seed_world(engine, hospitals=["HBENCH0001"], patients=1)
    # The engine is the one served; the URL in the settings is only for show.
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, mode="sandbox", **_lowercase(world.settings))
    return create_app(
        bootstrap(
            settings,
            engine=engine,
            clock=world.container.clock,
            real_clock=world.container.real_clock,
        )
    ), world


@contextmanager
def bare_sender() -> Iterator[Callable[[int], None]]:
    from fastapi.testclient import TestClient

    with TestClient(build_bare_app()) as client:

        def send(n: int) -> None:
            body = json.dumps(fee_batch_body(f"B{n}", LINES_PER_BATCH, "0.01")).encode()
            headers = dict(signed_headers("bare", "bare", "POST", "/bare", body, str(n)))
            headers["Content-Type"] = "application/json"
            if client.post("/bare", content=body, headers=headers).status_code != 200:
                raise RuntimeError("the bare endpoint failed")

        for n in range(WARMUP):
            send(n)
        yield send


def _lowercase(environment: dict[str, str]) -> dict[str, str]:
    return {name.removeprefix("SHUXIN_").lower(): value for name, value in environment.items()}


@contextmanager
def databases(args: argparse.Namespace) -> Iterator[list[tuple[str, Any]]]:
    """Fresh databases with every table: throwaway ones, as the ledger benchmark makes them."""
    made: list[tuple[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shuxin-feepath-") as folder, ExitStack() as stack:
        if not args.no_sqlite:
            made.append(("sqlite", stack.enter_context(sqlite_engine(Path(folder)))))
        if args.postgres.startswith("postgresql"):
            made.append(("postgresql", stack.enter_context(postgres_engine(args.postgres))))
        yield made


def show_one_batch(app: Any, world: Any, engine: Any) -> None:
    """Every statement one fee batch sends, in order (its nonce, its group of one)."""
    log = count_engine(engine)
    with fee_sender(app, world, 1) as send:
        texts = log.record()
        try:
            send(0)
        finally:
            log.recording = False
    print(f"\nthe {len(texts)} statements of one fee batch, posted alone:")
    for number, (shape, sql) in enumerate(texts, start=1):
        print(f"{number:3}. [{shape}] {' '.join(sql.split())[:400]}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench feepath", description=__doc__)
    parser.add_argument("--postgres", default=default_postgres(), help=POSTGRES_HELP)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--batches", type=int, default=500, help="fee batches per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--show-statements", action="store_true", help="print one batch's statements in full"
    )
    args = parser.parse_args(argv)
    if args.batches < 1 or args.runs < 1:
        parser.error("--batches and --runs must be at least 1")
    print(
        f"CPU per request in one process, {args.batches} requests a run, medians of {args.runs};"
        f" fee batches of {LINES_PER_BATCH} lines vs a bare endpoint with the same body"
    )
    figures: dict[str, Any] = {"bench": "feepath"}
    with databases(args) as made:
        if not made:
            parser.error("nothing to measure: give --postgres or leave SQLite on")
        for backend, engine in made:
            app, world = fee_app(engine)
            log = count_engine(engine)
            if args.show_statements:
                show_one_batch(app, world, engine)
            fees, bare = [], []
            sql = None
            for _ in range(args.runs):
                # Interleaved, so a drift of the machine's speed touches both alike.
                with fee_sender(app, world, args.batches) as send:
                    before = log.snapshot()
                    fees.append(cpu_per_request(send, args.batches))
                    run_sql = log.snapshot().since(before)
                    sql = run_sql if sql is None else type(run_sql).total([sql, run_sql])
                with bare_sender() as send:
                    bare.append(cpu_per_request(send, args.batches))
            fee_ms, bare_ms = statistics.median(fees), statistics.median(bare)
            batches = args.batches * args.runs
            per = sql.per(batches) if sql is not None else {"statements": math.nan}
            print(
                f"{backend:<10} fee batch {fee_ms:6.2f} ms CPU   bare {bare_ms:5.2f} ms CPU"
                f"   ratio {fee_ms / bare_ms:5.1f}x   {per['statements']:.1f} statements and "
                f"{per['transactions']:.1f} transactions per batch"
            )
            if sql is not None:
                print(format_purposes(sql, batches))
            figures[backend] = {
                "fee_cpu_ms": round(fee_ms, 3),
                "bare_cpu_ms": round(bare_ms, 3),
                "ratio": round(fee_ms / bare_ms, 2),
                "statements_per_batch": round(per["statements"], 2),
                "transactions_per_batch": round(per["transactions"], 2),
                "sandbox_statements_per_batch": round(
                    (sql.touching(SANDBOX_PREFIX) if sql is not None else 0) / batches, 2
                ),
            }
    print(json.dumps(figures))
    return 0
