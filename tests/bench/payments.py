"""Settled payments per second, end to end through the service layer, next to a bare baseline.

``python -m tests.bench payments [--bills N] [--postgres URL] [--sqlite]``

Each payment is what a patient's ``POST /v1/bills/{id}/payments`` does below HTTP, then what the
wallet's callback does: ``start_payment`` in one unit of work (bill lock, split, reservations, a
linked batch of pending transfers, the wallet order and its queued signed callback, commit), then
``deliver_due_callbacks`` (signature check, the three transfers posted as one linked batch, the
bill settled, the credit event with the history computed from bills, the line synced, commit).
The baseline, in the same run and on the same bills, is the least two transactions a payment
can be: lock the bill row, update it, commit, twice. Bills are prepared over HTTP beforehand
(not timed). PostgreSQL comes from ``--postgres`` or ``SHUXIN_TEST_DATABASE_URL`` in a throwaway
schema; ``--sqlite`` runs on a fresh SQLite file instead. Rates use plain division (no money).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text

from settlement.foundation.db import make_engine
from settlement.usecases.paying.payments import deliver_due_callbacks, start_payment
from tests.database import POSTGRES_URL_ENV, PostgresTestDatabase, create_schema
from tests.harness import build_service
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for


def prepare(engine: Engine, bills: int):
    service = build_service(engine)
    his = service.add_hospital("BENCH", level=3)
    prepared = []
    for _ in range(bills):
        person, _ = service.enrol(balc="100.00")
        bill_id, _ = bill_for(
            his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
        )
        prepared.append((bill_id, person.psn_no))
    return service, prepared


def time_payments(service, prepared) -> float:
    container = service.container
    started = time.perf_counter()
    for bill_id, psn_no in prepared:
        with container.uow() as uow:
            start_payment(
                uow, container=container, bill_id=bill_id, payer_psn_no=psn_no, provider="wechat"
            )
            uow.commit()
        outcomes = deliver_due_callbacks(container)
        assert [o.outcome for o in outcomes] == ["applied"], outcomes
    return time.perf_counter() - started


def time_baseline(service, prepared) -> float:
    container = service.container
    started = time.perf_counter()
    for bill_id, _ in prepared:
        for _ in range(2):
            with container.uow() as uow:
                uow.session.execute(
                    text("SELECT version FROM bills WHERE bill_id = :id FOR UPDATE")
                    if container.engine.dialect.name == "postgresql"
                    else text("SELECT version FROM bills WHERE bill_id = :id"),
                    {"id": bill_id},
                )
                uow.session.execute(
                    text("UPDATE bills SET version = version WHERE bill_id = :id"), {"id": bill_id}
                )
                uow.commit()
    return time.perf_counter() - started


def run(label: str, engine: Engine, bills: int) -> None:
    print(f"{label}: preparing {bills} bills over HTTP (not timed) …", flush=True)
    service, prepared = prepare(engine, bills)
    baseline = time_baseline(service, prepared)
    elapsed = time_payments(service, prepared)
    with service.container.uow() as uow:
        from settlement.ledger.verify import verify_ledger

        report = verify_ledger(uow.session)
    per_second = bills / elapsed
    base_per_second = bills / baseline
    print(
        f"{label}: {per_second:8.1f} settled payments/s ({elapsed / bills * 1000:.2f} ms each); "
        f"baseline {base_per_second:8.1f}/s ({baseline / bills * 1000:.2f} ms); "
        f"ratio {baseline / elapsed:.3f} of the baseline; ledger "
        f"{'balanced' if report.ok else 'NOT BALANCED'}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench payments")
    parser.add_argument("--bills", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get(POSTGRES_URL_ENV, ""))
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite as well")
    args = parser.parse_args(argv)
    if args.postgres.startswith("postgresql"):
        database = PostgresTestDatabase(args.postgres)
        try:
            run("PostgreSQL", database.engine, args.bills)
        finally:
            database.drop()
    elif not args.sqlite:
        print("no PostgreSQL: pass --postgres URL or set SHUXIN_TEST_DATABASE_URL (or --sqlite)")
        return 2
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            create_schema(engine)
            run("SQLite", engine, args.bills)
            engine.dispose()
    return 0
