"""Credit benchmark: decisions per second (pure scoring) and sign-ups per second (service layer).

``python -m tests.bench credit [--decisions N] [--signups M] [--runs R] [--postgres URL]``

Scoring is timed against a baseline of building the inputs alone, in the same run. Sign-ups go
through ``sign_agreement`` with one unit of work (one commit) each, on a fresh SQLite file and, when
``--postgres`` names one (by default ``SHUXIN_TEST_DATABASE_URL`` or the local server), on
PostgreSQL in a throwaway schema.
The last line is one JSON object of the figures (``scoring.ratio``: build + decide ÷ build).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from credit.decision import RATINGS, CreditInputs, RepaymentHistory, decide
from credit.identity import certno_check_char
from settlement.adapters.sandbox import SandboxCreditPlatform, SandboxInsurancePlatform
from settlement.adapters.sandbox_tables import SandboxPerson, upsert_sandbox_person
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.db import make_engine, make_session_factory
from settlement.foundation.ports import CreditReport, PersonRecord
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.usecases.credit import CreditConfig, load_credit_config, sign_agreement
from tests.bench.support import POSTGRES_HELP, default_postgres
from tests.database import PostgresTestDatabase, create_schema

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
TODAY = date(2026, 3, 1)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def raw_inputs(count: int) -> list[tuple[str, int, str, RepaymentHistory]]:
    rng = random.Random(7)
    return [
        (
            rng.choice(RATINGS),
            rng.randrange(0, 400),
            rng.choice(("11", "12")),
            RepaymentHistory(
                bills_on_time=rng.randrange(0, 20),
                bills_late=rng.randrange(0, 5),
                max_days_late=rng.randrange(0, 30),
            ),
        )
        for _ in range(count)
    ]


def build(raw: list[tuple[str, int, str, RepaymentHistory]]) -> list[CreditInputs]:
    return [
        CreditInputs(
            insutype="310",
            insured_active=True,
            dishonest=False,
            rating=rating,
            contribution_months=months,
            psn_type=psn_type,
            history=history,
        )
        for rating, months, psn_type, history in raw
    ]


def bench_scoring(config: CreditConfig, count: int, runs: int) -> dict[str, float]:
    raw = raw_inputs(count)
    card = config.scorecard
    baseline = median_seconds(lambda: build(raw), runs)
    scored = median_seconds(lambda: [decide(i, card, today=TODAY) for i in build(raw)], runs)
    print(f"pure scoring, {count} decisions, median of {runs} runs:")
    print(f"  baseline (build CreditInputs only): {count / baseline:>12,.0f} /s")
    print(f"  build + decide:                     {count / scored:>12,.0f} /s")
    decide_only = scored - baseline
    print(f"  decide alone (difference):          {count / decide_only:>12,.0f} /s")
    print(f"  ratio build+decide / baseline time: {scored / baseline:.1f}x")
    return {
        "decisions": count,
        "baseline_per_s": round(count / baseline),
        "build_decide_per_s": round(count / scored),
        "decide_per_s": round(count / decide_only),
        "ratio": round(scored / baseline, 2),
    }


def person(index: int) -> SandboxPerson:
    first17 = f"371402{1960 + index % 40}0101{index % 1000:03d}"
    psn_no = f"3714{index:016d}"
    record = PersonRecord(
        psn_no=psn_no,
        psn_name=f"测试{index}",
        certno=first17 + certno_check_char(first17),
        phone="13900000000",
        insutype="310",
        psn_type="11",
        status="active",
        balc=Decimal("100.00"),
        insuplc_admdvs="371400",
    )
    return SandboxPerson(record, CreditReport(RATINGS[index % 4], False, index % 200))


def bench_signups(
    label: str, uow_factory: UnitOfWorkFactory, config: CreditConfig, count: int
) -> float:
    people = [person(n) for n in range(1, count + 1)]
    with uow_factory() as uow:
        for record in people:
            upsert_sandbox_person(uow.session, record)
        uow.commit()
    clock = AdjustableClock(frozen_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    started = time.perf_counter()
    for record in people:
        with uow_factory() as uow:
            sign_agreement(
                uow.session,
                config=config,
                clock=clock,
                insurance=SandboxInsurancePlatform(uow.session),
                credit=SandboxCreditPlatform(uow.session),
                psn_no=record.person.psn_no,
                certno=record.person.certno,
                psn_name=record.person.psn_name,
                version=1,
                accept=True,
                autopay="off",
                channel="bench",
                client_addr="127.0.0.1",
                user_agent="bench",
                history=RepaymentHistory(),
            )
            uow.commit()
    elapsed = time.perf_counter() - started
    print(
        f"sign-ups through the service layer on {label}: {count / elapsed:,.0f} /s "
        f"({count} sign-ups, one transaction each, {elapsed * 1000 / count:.2f} ms each)"
    )
    return round(count / elapsed, 1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench credit")
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--signups", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default=default_postgres(), help=POSTGRES_HELP)
    options = parser.parse_args(argv)
    config = load_credit_config(SEEDS)

    figures: dict[str, object] = {"bench": "credit"}
    figures["scoring"] = bench_scoring(config, options.decisions, options.runs)

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        create_schema(engine)
        figures["signups_per_s_sqlite"] = bench_signups(
            "SQLite", UnitOfWorkFactory(make_session_factory(engine)), config, options.signups
        )
        engine.dispose()

    if options.postgres.startswith("postgresql"):
        database = PostgresTestDatabase(options.postgres)
        try:
            factory = UnitOfWorkFactory(make_session_factory(database.engine))
            figures["signups_per_s_postgresql"] = bench_signups(
                "PostgreSQL", factory, config, options.signups
            )
        finally:
            database.drop()
    else:
        print("PostgreSQL: skipped (--postgres names none)")
    print(json.dumps(figures))
    return 0
