"""The console benchmark runs on a tiny seed and ends with one JSON line of its figures (it checks
that the benchmark works, never how fast anything is)."""

from __future__ import annotations

import json

import pytest

from tests.bench import console
from tests.database import postgres_url


@pytest.mark.postgres
def test_the_console_benchmark_times_the_overview_the_page_and_the_baseline(capsys):
    url = postgres_url()
    assert url is not None
    assert console.main(["--bills", "300", "--repeats", "1", "--postgres", url]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert figures["bench"] == "console"
    assert figures["bills"] == 300 and figures["days"] == 90
    assert figures["baseline_s"] > 0 and figures["overview_s"] > 0 and figures["page_s"] > 0
    assert figures["overview_ratio"] > 0 and figures["page_ratio"] > 0
