"""Settled payments per second, end to end through the service layer, next to a bare baseline.

``python -m tests.bench payments [--bills N] [--payers P] [--postgres URL] [--sqlite]
[--show-statements]``

One settled payment is what a patient's ``POST /v1/bills/{id}/payments`` does below HTTP, then
what the wallet's ``POST /v1/wallets/{provider}/notify`` does: ``start_payment`` in one unit of
work (bill lock, split, reservations, a linked batch of pending transfers, the wallet order,
commit), then the provider's signed callback, built here as the provider sends it, through
``receive_callback`` in a second unit of work (signature check, the transfers posted as one
linked batch, the bill settled, the credit event with the history computed from bills, the line
synced, the callback log, commit). The sandbox wallet stands in for the provider inside
``start_payment`` (its order and queued callback rows); its statements are counted apart. The
idempotency record the HTTP route adds around ``start_payment`` is not part of it.

The baseline, on the same bills, is the least two transactions a payment can be: lock the bill
row, update it, commit, twice. Two modes, each with its own bills (prepared over HTTP beforehand,
not timed; a bill per patient):

- sequential: one payer after another, then the baseline the same way;
- concurrent (PostgreSQL): ``--payers`` processes (default 16, forked), each with its own
  connection and its own patients' bills, paying at once; the baseline run by as many processes
  on their bills. Processes, not threads: threads of one process take turns on the interpreter's
  lock, so the Python of a payment (most of its time) ran one payer at a time while the
  baseline's threads waited on the database together, and the ratio measured the lock.

Printed: payments per second, the baseline's, the ratio (payments ÷ baseline) per mode, and the
SQL statements per settled payment (start + callback) by purpose, counted at the driver
(``tests/bench/support/statements.py``); ``--show-statements`` prints one payment's statements
in full. The last line is one JSON object. Targets (issue 18): sequential and concurrent ≥ 0.5 ×
their baseline, ≤ 12 statements per payment. PostgreSQL is ``--postgres`` (by default
``SHUXIN_TEST_DATABASE_URL`` or the local server), in a throwaway schema; ``--sqlite`` runs on a
fresh SQLite file as well (sequential only: SQLite takes one writer at a time). Rates use plain division (no money).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from api.progress import progress_bars
from settlement.adapters.wallets import callback_body, sign_callback
from settlement.foundation.db import make_engine
from settlement.usecases.paying.payments import receive_callback, start_payment
from tests.bench.support import POSTGRES_HELP, default_postgres
from tests.bench.support.statements import SANDBOX_PREFIX, Tally, count_engine, format_purposes
from tests.database import PostgresTestDatabase, create_schema
from tests.harness import build_service
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for

PROVIDER = "wechat"
TARGET_RATIO = 0.5
TARGET_STATEMENTS = 12

Bill = tuple[str, str]  # (bill_id, psn_no)


def prepare(service: Any, his: Any, bills: int) -> list[Bill]:
    prepared = []
    with progress_bars() as progress:
        progress.stage("bills to pay", bills)
        for _ in range(bills):
            person, _ = service.enrol(balc="100.00")
            bill_id, _ = bill_for(
                his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
            )
            prepared.append((bill_id, person.psn_no))
            progress.advance()
    return prepared


def settle(container: Any, bill_id: str, psn_no: str) -> None:
    """One settled payment: the payment started, then the provider's callback applied."""
    with container.uow() as uow:
        result = start_payment(
            uow, container=container, bill_id=bill_id, payer_psn_no=psn_no, provider=PROVIDER
        )
        uow.commit()
    payment = result.payment
    assert payment is not None, "the bench's bills leave a wallet part to pay"
    body = callback_body(
        order_id=payment.payment_id,
        provider_txn_id=f"T{uuid.uuid4().hex[:20].upper()}",
        amount=payment.amount,
        status="SUCCESS",
        seq=1,
        sent_at=container.clock.now(),
    )
    signature = sign_callback(container.settings.wallet_secret, body)
    with container.uow() as uow:
        outcome = receive_callback(
            uow, container=container, provider=PROVIDER, body=body, signature=signature
        )
        uow.commit()
    assert outcome.outcome == "applied", outcome


def baseline(container: Any, bill_id: str, _psn_no: str) -> None:
    """The least a payment can be: two transactions that each lock the bill row and update it."""
    postgres = container.engine.dialect.name == "postgresql"
    for _ in range(2):
        with container.uow() as uow:
            uow.session.execute(
                text("SELECT version FROM bills WHERE bill_id = :id FOR UPDATE")
                if postgres
                else text("SELECT version FROM bills WHERE bill_id = :id"),
                {"id": bill_id},
            )
            uow.session.execute(
                text("UPDATE bills SET version = version WHERE bill_id = :id"), {"id": bill_id}
            )
            uow.commit()


def timed(
    work: Callable[[Any, str, str], None], container: Any, shares: Sequence[list[Bill]]
) -> tuple[float, Tally | None]:
    """Seconds for ``work`` on every bill, one payer per share: one share runs in this thread;
    several run as processes (forked, each with its own connections), so a payer's Python does
    not wait for another's on the interpreter's lock, as a server's workers would not. With
    processes, the statements they sent (else ``None``: this process counted them)."""
    if len(shares) == 1:
        started = time.perf_counter()
        for bill_id, psn_no in shares[0]:
            work(container, bill_id, psn_no)
        return time.perf_counter() - started, None
    context = multiprocessing.get_context("fork")
    ready, go = context.Barrier(len(shares) + 1), context.Event()
    results = context.SimpleQueue()
    payers = [
        context.Process(target=_payer, args=(work, container, share, ready, go, results))
        for share in shares
    ]
    for payer in payers:
        payer.start()
    ready.wait()  # every payer connected and waiting
    started = time.perf_counter()
    go.set()
    reports = [results.get() for _ in payers]
    elapsed = time.perf_counter() - started
    for payer in payers:
        payer.join()
    failed = [report["error"] for report in reports if report["error"]]
    if failed:
        raise RuntimeError(f"a payer failed: {failed[0]}")
    return elapsed, Tally.total(Tally.from_json(report["tally"]) for report in reports)


def _payer(
    work: Callable[[Any, str, str], None],
    container: Any,
    share: list[Bill],
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One payer process: its own connections (the parent's are not shared), the share paid
    once every payer is ready, then what it sent reported."""
    container.engine.dispose(close=False)
    log = count_engine(container.engine)
    with container.engine.connect():
        pass  # a connection opened before the clock starts, as the parent's pool holds one
    ready.wait()
    go.wait()
    before = log.snapshot()
    error = ""
    try:
        for bill_id, psn_no in share:
            work(container, bill_id, psn_no)
    except BaseException as failure:
        error = repr(failure)
    results.put({"tally": log.snapshot().since(before).to_json(), "error": error})


def run_mode(label: str, mode: str, service: Any, bills: list[Bill], payers: int) -> dict[str, Any]:
    container = service.container
    log = count_engine(container.engine)
    shares = [bills[i::payers] for i in range(payers)]
    base_seconds, _ = timed(baseline, container, shares)
    before = log.snapshot()
    seconds, counted = timed(settle, container, shares)
    tally = counted if counted is not None else log.snapshot().since(before)
    count = len(bills)
    per = tally.per(count)
    figures = {
        "payments_per_s": round(count / seconds, 1),
        "ms_each": round(seconds / count * 1000, 2),
        "baseline_per_s": round(count / base_seconds, 1),
        "ratio": round(base_seconds / seconds, 3),
        "statements_per_payment": round(per["statements"], 2),
        "transactions_per_payment": round(per["transactions"], 2),
        "sandbox_statements_per_payment": round(tally.touching(SANDBOX_PREFIX) / count, 2),
    }
    print(
        f"{label} {mode} ({payers} payer{' processes' if payers > 1 else ''}, {count} bills): "
        f"{figures['payments_per_s']:8.1f} settled payments/s ({figures['ms_each']:.2f} ms each); "
        f"baseline {figures['baseline_per_s']:8.1f}/s; ratio {figures['ratio']:.3f}; "
        f"{per['statements']:.1f} statements and {per['transactions']:.1f} transactions per "
        f"payment ({figures['sandbox_statements_per_payment']:.1f} of them the sandbox's)",
        flush=True,
    )
    if mode == "sequential":
        print(f"{label} SQL per settled payment by purpose:")
        print(format_purposes(tally, count))
    return {"tally": tally, **figures}


def show_one_payment(service: Any, bill: Bill) -> None:
    """Every statement one settled payment sends, in order."""
    log = count_engine(service.container.engine)
    texts = log.record()
    try:
        settle(service.container, *bill)
    finally:
        log.recording = False
    print(f"\nthe {len(texts)} statements of one settled payment (start, then callback):")
    for number, (shape, sql) in enumerate(texts, start=1):
        print(f"{number:3}. [{shape}] {' '.join(sql.split())[:400]}")


def run(label: str, engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    concurrent = engine.dialect.name == "postgresql" and args.payers > 1
    wanted = args.bills * (2 if concurrent else 1) + (1 if args.show_statements else 0)
    print(f"{label}: preparing {wanted} bills over HTTP (not timed) …", flush=True)
    service = build_service(engine)
    his = service.add_hospital("BENCH", level=3)
    bills = prepare(service, his, wanted)
    if args.show_statements:
        show_one_payment(service, bills.pop())
    results = {"sequential": run_mode(label, "sequential", service, bills[: args.bills], 1)}
    if concurrent:
        results["concurrent"] = run_mode(
            label, "concurrent", service, bills[args.bills :], args.payers
        )
    with service.container.uow() as uow:
        from settlement.ledger.verify import verify_ledger

        report = verify_ledger(uow.session)
    print(f"{label}: ledger {'balanced' if report.ok else 'NOT BALANCED'}")
    if not report.ok:
        raise SystemExit(f"{label}: the ledger does not balance after the benchmark")
    return results


def summary(backend: str, results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    sequential, concurrent = results["sequential"], results.get("concurrent")
    line: dict[str, Any] = {
        "bench": "payments",
        "backend": backend,
        "ratio": sequential["ratio"],
        "concurrent_ratio": concurrent["ratio"] if concurrent else None,
        "statements_per_payment": sequential["statements_per_payment"],
        "transactions_per_payment": sequential["transactions_per_payment"],
        "sandbox_statements_per_payment": sequential["sandbox_statements_per_payment"],
        "payments_per_s": sequential["payments_per_s"],
        "baseline_per_s": sequential["baseline_per_s"],
        "bills": args.bills,
    }
    if concurrent:
        line |= {
            "payers": args.payers,
            "payers_are": "processes",
            "concurrent_payments_per_s": concurrent["payments_per_s"],
            "concurrent_baseline_per_s": concurrent["baseline_per_s"],
            "concurrent_statements_per_payment": concurrent["statements_per_payment"],
        }
    return line


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench payments", description=__doc__)
    parser.add_argument("--bills", type=int, default=300, help="bills per mode")
    parser.add_argument("--payers", type=int, default=16, help="processes of the concurrent mode")
    parser.add_argument("--postgres", default=default_postgres(), help=POSTGRES_HELP)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite as well")
    parser.add_argument(
        "--show-statements", action="store_true", help="print one payment's statements in full"
    )
    args = parser.parse_args(argv)
    if args.bills < args.payers or args.payers < 1:
        parser.error("--payers must be at least 1 and --bills at least --payers")
    lines = []
    if args.postgres.startswith("postgresql"):
        database = PostgresTestDatabase(args.postgres)
        try:
            lines.append(summary("postgresql", run("PostgreSQL", database.engine, args), args))
        finally:
            database.drop()
    elif not args.sqlite:
        print("no PostgreSQL: pass --postgres URL (or --sqlite)")
        return 2
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            create_schema(engine)
            lines.append(summary("sqlite", run("SQLite", engine, args), args))
            engine.dispose()
    checked = lines[0]
    checks = {
        f"sequential >= {TARGET_RATIO} x baseline": checked["ratio"] >= TARGET_RATIO,
        f"concurrent >= {TARGET_RATIO} x baseline": (checked["concurrent_ratio"] or 0)
        >= TARGET_RATIO,
        f"<= {TARGET_STATEMENTS} statements/payment": checked["statements_per_payment"]
        <= TARGET_STATEMENTS,
    }
    print(
        f"targets ({checked['backend']}): "
        + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items())
    )
    print(json.dumps(checked))
    return 0
