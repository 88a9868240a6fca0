"""The operators' overview: ``python -m tests.bench console [--postgres URL] [--bills N] [--runs N]``.

Seeds, with set-based SQL (``INSERT … SELECT … FROM generate_series``) into a throwaway
PostgreSQL schema, N bills over 120 days at 20 hospitals with what happens to bills: visits, the
bills' event history (closed, paid, overdue, paid late, refunded before payment, refunded in part
after settlement with a re-settlement), their settlements, agreement signatures and credit
decisions. Then times, in the same run and on the same data:

- the baseline, the single SQL aggregate the overview needs at least: the bills' event history
  grouped by hospital and local day over the 90 days (count and sum), one statement;
- ``reporting.reports.overview`` for the 90 days ending on the last day: every figure of every
  hospital and the scheme, day by day (what ``/admin/v1/reports/daily`` gives for one day);
- the console's overview page for those 90 days (the same call, its charts, tables and HTML),
  through the application (in process, an administrator logged in).

Printed: medians over ``--runs`` and their ratios. Target: the overview under ~10 × the
baseline. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from settlement.bootstrap import bootstrap
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.config import Settings
from settlement.foundation.db import make_engine
from settlement.schema import load_all_tables
from settlement.usecases.reporting.reports import overview

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ZONE = ZoneInfo("Asia/Shanghai")
LAST_DAY = date(2026, 11, 23)
DAYS = 90
#: Bills are spread over this many days ending with the last day: some history before the 90.
SPAN_DAYS = 120
HOSPITALS = 20
#: One patient per five bills.
BILLS_PER_PATIENT = 5

#: Seeding, one statement each; ``:n`` bills, ``:patients``, ``:hospitals``, ``:t0`` the first
#: instant, ``:span`` seconds. ``r`` (0-99) picks what happens to a bill:
#: < 70 paid the next day; 70-79 overdue then paid two days after the deadline; 80-84 still
#: overdue (or unpaid if too recent), a fifth refunded while overdue (80-82) or before the
#: deadline (83); 85-89 refunded whole before payment; 90-99 paid, then a quarter refunded the
#: day after (the settlement reversed and the rest re-settled).
SEED = [
    """CREATE TEMP TABLE seed AS
       SELECT i, :t0 + (i::float8 * :span / :n) * interval '1 second' AS opened_at,
              i % :hospitals AS h, i % :patients AS p, 1000 + (i * 7919) % 50000 AS fen,
              (i * 37 + i / 100) % 100 AS r
       FROM generate_series(CAST(0 AS bigint), :n - 1) AS i""",
    """INSERT INTO hospitals (code, name, level, secret_salt, secret_version, created_at)
       SELECT 'H' || lpad(h::text, 3, '0'), '医院 ' || h, 1 + h % 3, 'salt', 1, :t0
       FROM generate_series(0, :hospitals - 1) AS h""",
    """INSERT INTO visits (mdtrt_id, hospital_code, ipt_otp_no, psn_no, med_type, dept_code,
                          dept_name, dr_name, begntime, status, opened_at, closed_at, closed_by)
       SELECT 'MD' || i, 'H' || lpad(h::text, 3, '0'), 'MZ' || i, 'P' || p, '11', 'A03', '内科',
              '王医生', opened_at, 'closed', opened_at, opened_at + interval '1 hour', 'his'
       FROM seed""",
    """INSERT INTO bills (bill_id, mdtrt_id, hospital_code, psn_no, status, medfee_sumamt_fen,
                         billed_fen, closed_at, due_at, settled_at, overdue_at, estimate, version)
       SELECT 'BL' || i, 'MD' || i, 'H' || lpad(h::text, 3, '0'), 'P' || p,
              CASE WHEN r < 70 OR r >= 90 THEN 'settled' WHEN r < 80 THEN 'settled_late'
                   WHEN r < 85 THEN 'overdue' ELSE 'refunded' END,
              CASE WHEN r >= 85 AND r < 90 THEN 0 WHEN r >= 90 THEN fen - fen / 4 ELSE fen END,
              fen, opened_at + interval '1 hour', opened_at + interval '73 hours',
              CASE WHEN r < 70 OR r >= 90 THEN opened_at + interval '25 hours'
                   WHEN r < 80 THEN opened_at + interval '121 hours' END,
              CASE WHEN r >= 70 AND r < 85 THEN opened_at + interval '73 hours' END,
              '{}'::json, 1
       FROM seed""",
    # The events: closed; paid (started, settled); overdue; refunds.
    """INSERT INTO bill_events (bill_id, kind, from_status, to_status, amount_fen, detail,
                               created_at)
       SELECT 'BL' || i, 'closed', NULL, 'billed', fen, '{}'::json, opened_at + interval '1 hour'
       FROM seed
       UNION ALL
       SELECT 'BL' || i, 'payment_started', 'billed', 'paying', 0, '{}'::json,
              opened_at + interval '25 hours' FROM seed WHERE r < 70 OR r >= 90
       UNION ALL
       SELECT 'BL' || i, 'settled', 'paying', 'settled', 0, '{}'::json,
              opened_at + interval '25 hours 1 second' FROM seed WHERE r < 70 OR r >= 90
       UNION ALL
       SELECT 'BL' || i, 'overdue', 'billed', 'overdue', 0, '{}'::json,
              opened_at + interval '73 hours' FROM seed WHERE r >= 70 AND r < 85
       UNION ALL
       SELECT 'BL' || i, 'payment_started', 'overdue', 'paying_late', 0, '{}'::json,
              opened_at + interval '121 hours' FROM seed WHERE r >= 70 AND r < 80
       UNION ALL
       SELECT 'BL' || i, 'settled', 'paying_late', 'settled_late', 0, '{}'::json,
              opened_at + interval '121 hours 1 second' FROM seed WHERE r >= 70 AND r < 80
       UNION ALL
       SELECT 'BL' || i, 'refund', 'billed', 'refunded', fen, '{}'::json,
              opened_at + interval '13 hours' FROM seed WHERE r >= 85 AND r < 90
       UNION ALL
       SELECT 'BL' || i, 'refund', 'settled', 'settled', fen / 4, '{}'::json,
              opened_at + interval '49 hours' FROM seed WHERE r >= 90
       UNION ALL
       SELECT 'BL' || i, 'refund', 'billed', 'billed', fen / 5, '{}'::json,
              opened_at + interval '10 hours' FROM seed WHERE r = 83
       UNION ALL
       SELECT 'BL' || i, 'refund', 'overdue', 'overdue', fen / 5, '{}'::json,
              opened_at + interval '80 hours' FROM seed WHERE r IN (80, 81, 82)""",
    # Settlements: 40 % fund, 25 % own account, 5 % mutual aid, the rest wallet; a partly
    # refunded bill's first settlement is reversed and its remaining three quarters re-settled.
    """INSERT INTO bill_settlements (setl_id, bill_id, psn_no, payer_psn_no, status, channel,
              provider, order_id, setlinfo, medfee_sumamt_fen, hifp_pay_fen, acct_own_pay_fen,
              acct_mulaid_pay_fen, psn_cash_pay_fen, lines, hospital_level, psn_type, visit_date,
              policy_year, deductible_before_fen, hifp_paid_before_fen, balance_before_fen,
              transfers, replaces_setl_id, created_at, posted_at, voided_at, reversed_at)
       SELECT 'ST' || i || kind, 'BL' || i, 'P' || p, 'P' || p,
              CASE WHEN kind = 'a' AND r >= 90 THEN 'reversed' ELSE 'posted' END,
              CASE WHEN kind = 'a' THEN 'wallet' ELSE 'resettle' END, 'wechat', NULL, '{}'::json,
              amount, amount * 40 / 100, amount * 25 / 100, amount * 5 / 100,
              amount - amount * 40 / 100 - amount * 25 / 100 - amount * 5 / 100,
              '[]'::json, 3, '11', opened_at::date, 2026, 0, 0, 0, '[]'::json, NULL, paid_at, paid_at, NULL,
              CASE WHEN kind = 'a' AND r >= 90 THEN opened_at + interval '49 hours' END
       FROM (
           SELECT i, p, r, opened_at, 'a' AS kind, fen AS amount,
                  opened_at + CASE WHEN r < 70 OR r >= 90 THEN interval '25 hours 1 second'
                                   ELSE interval '121 hours 1 second' END AS paid_at
           FROM seed WHERE r < 80 OR r >= 90
           UNION ALL
           SELECT i, p, r, opened_at, 'b', fen - fen / 4, opened_at + interval '49 hours'
           FROM seed WHERE r >= 90
       ) AS paid""",
    """INSERT INTO agreement_signatures (psn_no, version, text_sha256, signed_at, channel,
              client_addr, user_agent, autopay, revoked_at, proxy_by_psn_no)
       SELECT 'P' || p, 1, repeat('0', 64),
              :t0 - interval '30 days' + (p::float8 * :span / :patients) * interval '1 second',
              'app', '127.0.0.1', 'bench', 'off',
              CASE WHEN p % 50 = 0 THEN :t0 + (p::float8 * :span / :patients + 86400 * 20)
                   * interval '1 second' END, NULL
       FROM generate_series(0, :patients - 1) AS p""",
    """INSERT INTO credit_decisions (psn_no, seq, status, line_fen, score, reasons, inputs,
              scorecard_version, event, suspended_until, overdue_unpaid, as_of, decided_at)
       SELECT 'P' || p, 1, 'active', 60000 + (p % 9) * 5000, 700, '[]'::json, '{}'::json, 'bench', 'signed',
              CAST(NULL AS date), 0, CAST(:t0 AS date),
              :t0 - interval '30 days' + (p::float8 * :span / :patients) * interval '1 second'
       FROM generate_series(0, :patients - 1) AS p
       UNION ALL
       SELECT 'P' || p, 2, 'frozen', 60000, 700, '[]'::json, '{}'::json, 'bench', 'overdue', NULL, 1,
              CAST(:t0 AS date), :t0 + (p::float8 * :span / :patients) * interval '1 second'
       FROM generate_series(0, :patients - 1) AS p WHERE p % 20 = 0""",
]

#: The baseline: one aggregate over the bills' history, by hospital and local day.
BASELINE = """
    SELECT b.hospital_code, (e.created_at AT TIME ZONE :zone)::date AS day,
           count(*), sum(e.amount_fen)
    FROM bill_events AS e JOIN bills AS b ON b.bill_id = e.bill_id
    WHERE e.created_at < :end
    GROUP BY b.hospital_code, day
"""


def seed(engine: Engine, bills: int, *, quiet: bool) -> None:
    t0 = datetime.combine(LAST_DAY - timedelta(days=SPAN_DAYS - 1), datetime.min.time(), ZONE)
    values = {
        "n": bills,
        "patients": max(1, bills // BILLS_PER_PATIENT),
        "hospitals": HOSPITALS,
        "t0": t0.astimezone(UTC),
        "span": SPAN_DAYS * 86400 - 3 * 3600,
    }
    with engine.begin() as connection:
        for step, statement in enumerate(SEED, start=1):
            connection.execute(text(statement), values)
            if not quiet:
                print(f"\r  seeding: step {step} of {len(SEED)}", end="", flush=True)
        connection.execute(text("DROP TABLE seed"))
    if not quiet:
        print()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def logged_in_console(url: str, engine: Engine) -> TestClient:
    """The application over the seeded schema, with an administrator logged in to the console."""
    settings = Settings(
        database_url=url, mode="sandbox", admin_token="bench-admin", secret_key="bench-secret"
    )
    app = create_app(bootstrap(settings, engine=engine, clock=AdjustableClock()))
    client = TestClient(app)
    login = client.get("/admin/login").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', login)
    assert csrf is not None
    answer = client.post("/admin/login", data={"csrf": csrf.group(1), "token": "bench-admin"})
    assert answer.status_code == 200 and answer.url.path == "/admin/", answer.text[:500]
    return client


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def one_run(url: str, bills: int, *, repeats: int, quiet: bool) -> dict[str, float]:
    schema = f"shuxin_bench_console_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        load_all_tables().create_all(engine)
        started = time.perf_counter()
        seed(engine, bills, quiet=quiet)
        print(f"  seeded {bills:,} bills in {time.perf_counter() - started:.1f} s")
        end = datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), ZONE)

        def baseline() -> object:
            with engine.connect() as connection:
                return connection.execute(
                    text(BASELINE), {"zone": ZONE.key, "end": end.astimezone(UTC)}
                ).all()

        def figures() -> object:
            with Session(engine) as session:
                return overview(session, last=LAST_DAY, days=DAYS, zone=ZONE)

        console = logged_in_console(url, engine)

        def page() -> object:
            answer = console.get(f"/admin/?date={LAST_DAY.isoformat()}&days={DAYS}")
            assert answer.status_code == 200, answer.text[:500]
            return answer

        baseline()  # warm the cache once, untimed
        results: dict[str, list[float]] = {"baseline_s": [], "overview_s": [], "page_s": []}
        for _ in range(repeats):
            results["baseline_s"].append(timed(baseline))
            results["overview_s"].append(timed(figures))
            results["page_s"].append(timed(page))
        medians = {name: statistics.median(times) for name, times in results.items()}
        base = medians["baseline_s"]
        print(
            f"  baseline aggregate {base:.2f} s; overview {medians['overview_s']:.2f} s "
            f"(ratio {medians['overview_s'] / base:.1f}); page {medians['page_s']:.2f} s "
            f"(ratio {medians['page_s'] / base:.1f})"
        )
        return medians
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench console", description=__doc__)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    parser.add_argument("--bills", type=int, default=1_000_000, help="bills to seed")
    parser.add_argument("--runs", type=int, default=1, help="seeded runs (median)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per run (median)")
    args = parser.parse_args(argv)
    if min(args.bills, args.runs, args.repeats) < 1:
        parser.error("--bills, --runs and --repeats must be at least 1")
    quiet = not sys.stdout.isatty()
    print(
        f"console overview benchmark on PostgreSQL: {args.bills:,} bills over {SPAN_DAYS} days, "
        f"{DAYS}-day overview, {args.runs} run(s) of {args.repeats}"
    )
    runs = [
        one_run(args.postgres, args.bills, repeats=args.repeats, quiet=quiet)
        for _ in range(args.runs)
    ]
    figures = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    ratio = figures["overview_s"] / figures["baseline_s"]
    page_ratio = figures["page_s"] / figures["baseline_s"]
    print(
        f"median: baseline aggregate {figures['baseline_s']:.2f} s, overview "
        f"{figures['overview_s']:.2f} s (ratio {ratio:.1f}), page {figures['page_s']:.2f} s "
        f"(ratio {page_ratio:.1f}); target < 10"
    )
    print(
        json.dumps(
            {
                "bench": "console",
                "backend": "postgresql",
                "bills": args.bills,
                "days": DAYS,
                **{name: round(value, 4) for name, value in figures.items()},
                "overview_ratio": round(ratio, 2),
                "page_ratio": round(page_ratio, 2),
            }
        )
    )
    return 0
