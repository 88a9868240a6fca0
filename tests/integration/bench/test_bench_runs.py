"""The benchmarks run, end with one JSON line of their figures, and count statements (tiny runs:
these check that the benchmarks work, never how fast anything is)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.bench import feepath, payments
from tests.database import postgres_url


def last_json(output: str) -> dict[str, Any]:
    line = output.strip().splitlines()[-1]
    figures: dict[str, Any] = json.loads(line)
    return figures


def test_the_payments_benchmark_settles_every_bill_and_counts_its_statements(capsys):
    assert payments.main(["--bills", "2", "--payers", "1", "--postgres", "", "--sqlite"]) == 0
    figures = last_json(capsys.readouterr().out)

    assert figures["bench"] == "payments"
    assert figures["backend"] == "sqlite"
    assert figures["ratio"] > 0
    assert figures["concurrent_ratio"] is None  # SQLite takes one writer at a time
    assert figures["statements_per_payment"] > figures["sandbox_statements_per_payment"] > 0
    assert figures["transactions_per_payment"] == 2


@pytest.mark.postgres
def test_the_payments_benchmark_pays_concurrently_on_postgresql(capsys):
    url = postgres_url()
    assert url is not None
    assert payments.main(["--bills", "4", "--payers", "2", "--postgres", url]) == 0
    figures = last_json(capsys.readouterr().out)

    assert figures["backend"] == "postgresql"
    assert figures["ratio"] > 0 and figures["concurrent_ratio"] > 0
    assert figures["payers"] == 2
    assert figures["concurrent_statements_per_payment"] > 0
    assert figures["transactions_per_payment"] == 2


def test_the_feepath_benchmark_counts_a_batchs_statements(capsys):
    url = postgres_url()
    backend = ["--no-sqlite", "--postgres", url] if url else ["--postgres", ""]
    assert feepath.main(["--batches", "3", "--runs", "1", *backend]) == 0
    figures = last_json(capsys.readouterr().out)

    measured = figures["postgresql" if url else "sqlite"]
    assert figures["bench"] == "feepath"
    assert measured["fee_cpu_ms"] > 0 and measured["ratio"] > 0
    assert measured["statements_per_batch"] > 5
    assert measured["transactions_per_batch"] >= 1
