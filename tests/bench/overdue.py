"""The overdue sweep: ``python -m tests.bench overdue [--postgres URL] [--bills N] [--runs N]``.

Seeds N bills past their deadline (one patient each, with a credit decision) with ``COPY`` into a
throwaway schema, then times, in the same run:

- the baseline: a bare ``UPDATE bills SET status='overdue', overdue_at=… WHERE …`` of those rows
  (committed, then undone and vacuumed, untimed);
- ``sweep_overdue``: per batch (``settlement.scheduler.sweeps.BATCH_SIZE`` bills),
  ``SELECT … FOR UPDATE SKIP LOCKED``, the ``scheduled_actions`` claim, a ``bill_events`` row,
  the bill update, a credit event (what ``record_event`` writes: a new frozen decision) and two
  outbox rows (SMS and push) per bill, one commit per batch. On PostgreSQL each of those is one
  statement per batch (arrays and ``COPY``, see ``settlement.foundation.db.insert_rows``), and
  ``OVERDUE_WORKERS`` transactions share the batches.

The sweep runs as in the scheduler's process (``shuxin serve`` or ``shuxin scheduler``): the
garbage collector settled once the container is built (``api.serving.settle_garbage_collector``).
Its SQL statements are counted at the driver (``tests/bench/support/statements.py``) and printed
by purpose: a batch is a handful of set-based statements, whatever its size.

Printed: the medians over ``--runs`` and the ratio (sweep ÷ bare UPDATE; ``ratio`` in the last
line, one JSON object, is the median of the runs' ratios). Target: ≤ 10 × the bare UPDATE. Both sides
write through the same server, so a loaded machine moves both, but not equally: compare ratios
from runs on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, text

from api.progress import progress_bars
from api.serving import settle_garbage_collector
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.bootstrap import Container, bootstrap
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.config import Settings
from settlement.foundation.db import make_engine
from settlement.foundation.progress import NO_PROGRESS, Progress
from settlement.messages.tables import OutboxMessage
from settlement.scheduler import sweep_overdue
from settlement.scheduler.tables import ScheduledAction
from settlement.schema import load_all_tables
from tests.bench.support import POSTGRES_HELP, default_postgres
from tests.bench.support.statements import Tally, count_engine, format_purposes

CLOSED = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
NOW = CLOSED + timedelta(hours=73)
#: The sweep's time at most this many times the bare UPDATE's.
TARGET_RATIO = 10


#: Rows written between two reports of progress.
PROGRESS_EVERY = 10_000


def seed(engine: Engine, bills: int, *, progress: Progress = NO_PROGRESS) -> None:
    """Hospital, visits, bills and one credit decision per patient, by COPY."""
    closed, due = CLOSED, CLOSED + timedelta(hours=72)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "INSERT INTO hospitals (code, name, level, secret_salt, secret_version, created_at) "
            "VALUES ('HB', 'bench', 3, 'salt', 1, %s)",
            (closed,),
        )
        with cursor.copy(
            "COPY visits (mdtrt_id, hospital_code, ipt_otp_no, psn_no, med_type, dept_code, "
            "dept_name, dr_name, begntime, status, opened_at, closed_at, closed_by) FROM STDIN"
        ) as copy:
            progress.stage("visits", bills)
            for i in range(bills):
                if i % PROGRESS_EVERY == 0:
                    progress.advance(min(PROGRESS_EVERY, bills - i))
                copy.write_row(
                    (f"MD{i:012d}", "HB", f"MZ{i}", f"P{i:08d}", "11", "A03", "内科", "王医生",
                     closed, "closed", closed, closed, "his")
                )  # fmt: skip
        with cursor.copy(
            "COPY bills (bill_id, mdtrt_id, hospital_code, psn_no, status, medfee_sumamt_fen, "
            "billed_fen, closed_at, due_at, estimate, version) FROM STDIN"
        ) as copy:
            progress.stage("bills", bills)
            for i in range(bills):
                if i % PROGRESS_EVERY == 0:
                    progress.advance(min(PROGRESS_EVERY, bills - i))
                copy.write_row(
                    (f"BL{i:012d}", f"MD{i:012d}", "HB", f"P{i:08d}", "billed", 1230 + i % 500,
                     1230 + i % 500, closed, due, "{}", 1)
                )  # fmt: skip
        reasons = json.dumps([])
        with cursor.copy(
            "COPY credit_decisions (psn_no, seq, status, line_fen, score, reasons, inputs, "
            "scorecard_version, event, overdue_unpaid, as_of, decided_at) FROM STDIN"
        ) as copy:
            progress.stage("credit decisions", bills)
            for i in range(bills):
                if i % PROGRESS_EVERY == 0:
                    progress.advance(min(PROGRESS_EVERY, bills - i))
                copy.write_row(
                    (f"P{i:08d}", 1, "active", 80000, 700, reasons, "{}", "bench", "signed", 0,
                     closed.date(), closed)
                )  # fmt: skip
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def bare_update(engine: Engine) -> float:
    """The baseline: the same rows made overdue by one UPDATE; undone afterwards (untimed)."""
    with engine.connect() as connection:
        started = time.perf_counter()
        connection.execute(
            text(
                "UPDATE bills SET status = 'overdue', overdue_at = :now, version = version + 1 "
                "WHERE status = 'billed' AND due_at <= :now"
            ),
            {"now": NOW},
        )
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.execute(
            text("UPDATE bills SET status = 'billed', overdue_at = NULL, version = 1")
        )
        connection.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE bills"))
    return elapsed


def check(container: Container, bills: int) -> None:
    with container.uow() as uow:
        session = uow.session
        actions = session.scalar(select(func.count(ScheduledAction.id)))
        messages = session.scalar(select(func.count(OutboxMessage.id)))
        frozen = session.scalar(
            select(func.count(CreditDecisionRow.id)).where(CreditDecisionRow.status == "frozen")
        )
    assert (actions, messages, frozen) == (bills, 2 * bills, bills), (actions, messages, frozen)


def one_run(url: str, bills: int) -> tuple[float, float, Tally]:
    schema = f"shuxin_bench_overdue_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        load_all_tables().create_all(engine)
        started = time.perf_counter()
        with progress_bars() as progress:
            seed(engine, bills, progress=progress)
        print(f"  seeded {bills:,} due bills in {time.perf_counter() - started:.1f} s")
        baseline = bare_update(engine)
        settings = Settings(database_url=url, mode="sandbox")
        container = bootstrap(settings, engine=engine, clock=AdjustableClock(frozen_at=NOW))
        settle_garbage_collector()  # as the scheduler's process does once it is built
        log = count_engine(engine)
        before = log.snapshot()
        started = time.perf_counter()
        report = sweep_overdue(container, NOW)
        swept = time.perf_counter() - started
        tally = log.snapshot().since(before)
        assert report.count == bills, report.count
        check(container, bills)
        print(
            f"  bare UPDATE {baseline:.2f} s; overdue sweep {swept:.2f} s "
            f"({bills / swept:,.0f} bills/s); ratio {swept / baseline:.1f}; "
            f"{tally.statements} statements in {tally.transactions} transactions:\n"
            + format_purposes(tally, 1, indent="    ")
        )
        return baseline, swept, tally
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench overdue", description=__doc__)
    parser.add_argument("--postgres", default=default_postgres(), help=POSTGRES_HELP)
    parser.add_argument("--bills", type=int, default=100_000, help="due bills to sweep")
    parser.add_argument("--runs", type=int, default=3, help="runs (median)")
    args = parser.parse_args(argv)
    if args.bills < 1 or args.runs < 1:
        parser.error("--bills and --runs must be at least 1")
    if not args.postgres.startswith("postgresql"):
        parser.error("the overdue sweep is measured on PostgreSQL: give --postgres URL")
    print(f"overdue sweep benchmark on PostgreSQL: {args.bills:,} due bills, {args.runs} run(s)")
    results = [one_run(args.postgres, args.bills) for _ in range(args.runs)]
    baseline = statistics.median(r[0] for r in results)
    swept = statistics.median(r[1] for r in results)
    ratios = statistics.median(r[1] / r[0] for r in results)
    print(
        f"median: bare UPDATE {baseline:.2f} s, overdue sweep {swept:.2f} s, "
        f"ratio of medians {swept / baseline:.1f}, median ratio {ratios:.1f} "
        f"(target ≤ {TARGET_RATIO}: {'met' if ratios <= TARGET_RATIO else 'MISSED'})"
    )
    figures = {
        "bench": "overdue",
        "bills": args.bills,
        "bare_update_s": round(baseline, 3),
        "sweep_s": round(swept, 3),
        "bills_per_s": round(args.bills / swept),
        "ratio": round(ratios, 2),
        "ratio_of_medians": round(swept / baseline, 2),
        "runs": args.runs,
        "statements": results[-1][2].statements,
        "transactions": results[-1][2].transactions,
    }
    print(json.dumps(figures))
    return 0
