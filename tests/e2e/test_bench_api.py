"""The API benchmark end to end, as briefly as it runs: its three servers answer every request,
and its last line is its figures (how fast is the benchmark's question, not this test's)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.database import postgres_url
from tests.e2e.server import ROOT, clean_environment


def test_the_api_benchmark_measures_fees_next_to_the_honest_write_and_the_bare_endpoint():
    url = postgres_url()
    backend = ["--no-sqlite", "--postgres", url, "--workers", "2"] if url else ["--postgres", ""]
    # Seconds enough for a loaded machine to answer a few requests of each kind in the window.
    small = ["--seconds", "2", "--runs", "1", "--clients", "2", "--no-access-log"]
    small += ["--history-accounts", "10", "--history-transfers", "10"]
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "api", *small, *backend],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode in (0, 1), output  # 1: a target missed, which is not a failure
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("{"), output
    figures = json.loads(last)

    assert figures["bench"] == "api"
    assert figures["backend"] == ("postgresql" if url else "sqlite")
    assert figures["clients"] == 2
    assert figures["errors"] == 0, output
    assert figures["fees_per_s"] > 0 and figures["honest_per_s"] > 0 and figures["bare_per_s"] > 0
    assert figures["ratio_honest"] == round(figures["fees_per_s"] / figures["honest_per_s"], 3)
    assert figures["statements_per_batch"] > figures["honest_statements_per_request"] >= 2, output
    # The servers' own CPU per request, read from /proc: a fee batch costs more than a constant.
    assert figures["cpu_ms_per_batch"] > figures["bare_cpu_ms_per_request"] > 0, output
    assert figures["honest_cpu_ms_per_request"] > 0, output
