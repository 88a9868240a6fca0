"""Ledger throughput: ``python -m tests.bench ledger [--seconds N] [--runs N] [--postgres URL]``.

One operation is one transaction holding 1.00 on a patient's limited account and posting that
hold to a hospital's account (two transfers, each its own ``create_transfers`` call, one commit).
Every writer is a thread with its own connection and its own patient; the writers share
``--hospitals`` hospital accounts (default 17, the scheme's hospitals in domain.md), each
operation taking the next one in turn, so writers meet on the same rows now and then.
``--hospitals 1`` makes one hot row that every operation locks, the worst case.

Before the writers start, the ledger is given a history, as a live one has and as ``pgbench -i``
gives its own tables: ``--history-accounts`` other patients' accounts (default 20,000) and
``--history-transfers`` transfers to them (default 100,000), then ``ANALYZE`` on PostgreSQL, as
``pgbench -i`` ends with a vacuum. On empty, never-analysed tables the server caches plans made
for a handful of rows (a sequential scan of ``ledger_transfers`` for the post's lookups and
foreign-key checks), and those scans grow with every transfer of the run until autovacuum's
next analyse, a minute later, replaces them: a five-second run then measures that minute.

Baselines, measured in the same run at the same writer count:

- PostgreSQL: ``pgbench`` TPC-B-like (scale 1: one branch row) in a scratch database
  ``shuxin_bench_pgbench`` that is created and dropped here;
- SQLite: a bare ``BEGIN IMMEDIATE; INSERT; COMMIT`` loop with the service's pragmas.

Printed: the median over ``--runs`` runs of operations per second (each a hold and a post), the
baseline's transactions per second, and the ratio. Target: ≥ 0.5 × pgbench at 8 writers. The
last line is one JSON object: the figures per backend and writer count, and at top level those
of PostgreSQL at 8 writers (``ratio`` to pgbench).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, make_url, text

from api.progress import progress_bars
from settlement.foundation.clock import SystemClock
from settlement.foundation.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, make_session_factory
from settlement.foundation.progress import NO_PROGRESS, Progress
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger.ledger import TransferRequest, create_transfers, open_account
from settlement.schema import load_all_tables
from tests.bench.support import POSTGRES_HELP, default_postgres

PGBENCH_DATABASE = "shuxin_bench_pgbench"
WRITER_COUNTS = (1, 8)
TARGET_WRITERS = 8
TARGET_RATIO = 0.5


# -- the ledger workload ---------------------------------------------------------------------------


def add_history(
    engine: Engine,
    accounts: int,
    transfers: int,
    *,
    issuer: str = "issuer",
    progress: Progress = NO_PROGRESS,
) -> None:
    """``accounts`` other credit accounts and ``transfers`` grants to them from the account
    ``issuer``, balances to match.

    Written in set-based SQL (a ledger's worth of ``create_transfers`` calls would take minutes);
    the balances are recomputed from the transfers, so ``shuxin ledger verify`` would pass.
    """
    if accounts < 1 or transfers < 1:
        return
    series = (
        "generate_series(1, :n) AS g(i)"
        if engine.dialect.name == "postgresql"
        else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)"
        " SELECT i FROM s) AS g"
    )
    zeros = "0, 0, 0, 0"
    progress.stage(f"ledger history: {accounts:,} accounts, {transfers:,} transfers", 5)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_accounts (code, kind, debits_must_not_exceed_credits,"
                " credits_must_not_exceed_debits, debits_pending, debits_posted,"
                f" credits_pending, credits_posted) SELECT 'history:' || g.i, 'credit',"
                f" true, false, {zeros} FROM {series}"
            ),
            {"n": accounts},
        )
        progress.advance()
        first = connection.execute(
            text("SELECT min(id) FROM ledger_accounts WHERE code LIKE 'history:%'")
        ).scalar_one()
        issuer = connection.execute(
            text("SELECT id FROM ledger_accounts WHERE code = :issuer"), {"issuer": issuer}
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id,"
                " amount, code, created_at) SELECT 'history:' || g.i, 'single_phase', :issuer,"
                " :first + (g.i % :accounts), 100, 'grant', CURRENT_TIMESTAMP FROM " + series
            ),
            {"n": transfers, "issuer": issuer, "first": first, "accounts": accounts},
        )
        progress.advance()
        for side, column in (("debit", "debits_posted"), ("credit", "credits_posted")):
            connection.execute(
                text(
                    f"UPDATE ledger_accounts SET {column} = {column} + coalesce((SELECT"
                    f" sum(amount) FROM ledger_transfers t WHERE t.{side}_account_id ="
                    " ledger_accounts.id AND t.id LIKE 'history:%'), 0)"
                    " WHERE id = :issuer OR code LIKE 'history:%'"
                ),
                {"issuer": issuer},
            )
            progress.advance()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE ledger_accounts"))
            connection.execute(text("ANALYZE ledger_transfers"))
    progress.advance()


def prepare_ledger(
    engine: Engine,
    writers: int,
    hospitals: int,
    *,
    history_accounts: int = 0,
    history_transfers: int = 0,
) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(make_session_factory(engine))
    clock = SystemClock()
    with factory() as uow:
        open_account(uow.session, code="issuer", kind="issuer")
        uow.commit()
    with progress_bars() as progress:
        add_history(engine, history_accounts, history_transfers, progress=progress)
    with factory() as uow:
        for hospital in range(hospitals):
            open_account(uow.session, code=f"hospital:{hospital}", kind="hospital")
        for writer in range(writers):
            code = f"patient:{writer}"
            open_account(uow.session, code=code, kind="credit", debits_must_not_exceed_credits=True)
            create_transfers(
                uow.session,
                [
                    TransferRequest(
                        id=f"grant:{writer}:{uuid.uuid4().hex}",
                        debit_account="issuer",
                        credit_account=code,
                        amount=Decimal("9999999.99"),
                        code="grant",
                    )
                ],
                clock=clock,
            )
        uow.commit()
    return factory


def ledger_operation(
    factory: UnitOfWorkFactory, writer: int, hospitals: int
) -> Callable[[int], None]:
    clock = SystemClock()
    patient = f"patient:{writer}"
    run = uuid.uuid4().hex[:8]

    def operation(n: int) -> None:
        hold_id = f"h:{run}:{writer}:{n}"
        hospital = f"hospital:{(writer + n) % hospitals}"
        with factory() as uow:
            create_transfers(
                uow.session,
                [
                    TransferRequest(
                        id=hold_id,
                        kind="pending",
                        debit_account=patient,
                        credit_account=hospital,
                        amount=Decimal("1.00"),
                        code="hold",
                    )
                ],
                clock=clock,
            )
            create_transfers(
                uow.session,
                [
                    TransferRequest(
                        id=f"p:{run}:{writer}:{n}",
                        kind="post_pending",
                        pending_id=hold_id,
                        code="bill",
                    )
                ],
                clock=clock,
            )
            uow.commit()

    return operation


def measure(operations: list[Callable[[int], None]], seconds: float) -> float:
    """Run each operation in its own thread for ``seconds``; return operations per second."""
    barrier = threading.Barrier(len(operations) + 1)
    stop = threading.Event()
    counts = [0] * len(operations)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        barrier.wait()
        n = 0
        try:
            while not stop.is_set():
                operations[index](n)
                n += 1
        except BaseException as error:
            errors.append(error)
        counts[index] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(operations))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    stop.wait(seconds)  # the run's length; the writers stop when it is set
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a writer failed: {errors[0]!r}") from errors[0]
    return sum(counts) / elapsed


# -- baselines -------------------------------------------------------------------------------------


def sqlite_baseline(folder: Path, writers: int, seconds: float) -> float:
    path = folder / f"baseline-{uuid.uuid4().hex[:8]}.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)")
    setup.close()

    def operation_for(writer: int) -> Callable[[int], None]:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous=NORMAL")

        def operation(n: int) -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO rows (writer, n) VALUES (?, ?)", (writer, n))
            connection.execute("COMMIT")

        return operation

    return measure([operation_for(w) for w in range(writers)], seconds)


def pgbench_arguments(url: str) -> list[str]:
    parsed = make_url(url)
    arguments = ["-h", parsed.host or "127.0.0.1", "-U", parsed.username or "postgres"]
    if parsed.port:
        arguments += ["-p", str(parsed.port)]
    return arguments


@contextmanager
def pgbench_database(url: str) -> Iterator[list[str]]:
    """A scratch database initialised by ``pgbench -i`` (scale 1), dropped afterwards."""
    admin = make_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PGBENCH_DATABASE}"))
        connection.execute(text(f"CREATE DATABASE {PGBENCH_DATABASE}"))
    arguments = pgbench_arguments(url)
    try:
        subprocess.run(
            ["pgbench", "-i", "-q", *arguments, PGBENCH_DATABASE],
            check=True,
            capture_output=True,
        )
        yield arguments
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {PGBENCH_DATABASE} WITH (FORCE)"))
        admin.dispose()


def pgbench_tps(arguments: list[str], writers: int, seconds: float) -> float:
    completed = subprocess.run(
        [
            "pgbench",
            *arguments,
            "-c",
            str(writers),
            "-j",
            str(writers),
            "-T",
            str(max(1, round(seconds))),
            "-n",
            PGBENCH_DATABASE,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([0-9.]+)", completed.stdout)
    if match is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{completed.stdout}")
    return float(match.group(1))


# -- the databases ---------------------------------------------------------------------------------


@contextmanager
def sqlite_engine(folder: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{folder / f'ledger-{uuid.uuid4().hex[:8]}.db'}")
    load_all_tables().create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    """A scratch schema in ``url``'s database, dropped afterwards."""
    schema = f"shuxin_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        load_all_tables().create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# -- the command -----------------------------------------------------------------------------------


def report(
    backend: str, writers: int, ledger: list[float], baseline: list[float], name: str
) -> dict[str, float]:
    """Prints the figures of one writer count; returns them."""
    ledger_rate = statistics.median(ledger)
    baseline_rate = statistics.median(baseline)
    print(
        f"{backend:<10} {writers:>2} writer(s)  ledger {ledger_rate:8.1f} holds+posts/s "
        f"({2 * ledger_rate:8.1f} transfers/s)  {name} {baseline_rate:8.1f} tx/s  "
        f"ratio {ledger_rate / baseline_rate:5.2f}",
        flush=True,
    )
    return {
        "writers": writers,
        "ops_per_s": round(ledger_rate, 1),
        "baseline_tx_per_s": round(baseline_rate, 1),
        "ratio": round(ledger_rate / baseline_rate, 3),
    }


def measure_ledger(engine: Engine, writers: int, args: argparse.Namespace) -> float:
    factory = prepare_ledger(
        engine,
        writers,
        args.hospitals,
        history_accounts=args.history_accounts,
        history_transfers=args.history_transfers,
    )
    operations = [ledger_operation(factory, w, args.hospitals) for w in range(writers)]
    return measure(operations, args.seconds)


def run_sqlite(folder: Path, args: argparse.Namespace) -> list[dict[str, float]]:
    levels = []
    for writers in WRITER_COUNTS:
        ledger, baseline = [], []
        for _ in range(args.runs):
            with sqlite_engine(folder) as engine:
                ledger.append(measure_ledger(engine, writers, args))
            baseline.append(sqlite_baseline(folder, writers, args.seconds))
        levels.append(report("SQLite", writers, ledger, baseline, "INSERT+COMMIT"))
    return levels


def run_postgres(args: argparse.Namespace) -> list[dict[str, float]]:
    levels = []
    with pgbench_database(args.postgres) as arguments:
        for writers in WRITER_COUNTS:
            ledger, baseline = [], []
            for _ in range(args.runs):
                with postgres_engine(args.postgres) as engine:
                    ledger.append(measure_ledger(engine, writers, args))
                baseline.append(pgbench_tps(arguments, writers, args.seconds))
            levels.append(report("PostgreSQL", writers, ledger, baseline, "pgbench"))
    return levels


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench ledger", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5, help="length of each run")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--postgres", default=default_postgres(), help=POSTGRES_HELP)
    parser.add_argument("--hospitals", type=int, default=17, help="hospital accounts shared")
    parser.add_argument(
        "--history-accounts", type=int, default=20_000, help="accounts the ledger starts with"
    )
    parser.add_argument(
        "--history-transfers", type=int, default=100_000, help="transfers it starts with"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.hospitals < 1:
        parser.error("--runs and --hospitals must be at least 1")
    if args.history_accounts < 0 or args.history_transfers < 0:
        parser.error("--history-accounts and --history-transfers cannot be negative")
    print(
        f"ledger benchmark: {args.runs} run(s) of {args.seconds:g} s per figure, medians; "
        f"{args.hospitals} hospital account(s); a history of {args.history_accounts} accounts and "
        f"{args.history_transfers} transfers"
    )
    figures: dict[str, object] = {"bench": "ledger"}
    if not args.no_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="shuxin-bench-"))
        try:
            figures["sqlite"] = run_sqlite(folder, args)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if not args.no_postgres and args.postgres.startswith("postgresql"):
        if shutil.which("pgbench") is None:
            print("pgbench is not installed: cannot measure the PostgreSQL baseline")
            return 1
        levels = run_postgres(args)
        figures["postgresql"] = levels
        at_target = next(level for level in levels if level["writers"] == TARGET_WRITERS)
        figures |= {
            "ratio": at_target["ratio"],
            "ops_per_s": at_target["ops_per_s"],
            "pgbench_tps": at_target["baseline_tx_per_s"],
            "writers": TARGET_WRITERS,
        }
        met = at_target["ratio"] >= TARGET_RATIO
        print(
            f"target: >= {TARGET_RATIO} x pgbench at {TARGET_WRITERS} writers: "
            f"{'met' if met else 'MISSED'}"
        )
    figures |= {"hospitals": args.hospitals, "runs": args.runs, "seconds": args.seconds}
    print(json.dumps(figures))
    return 0
