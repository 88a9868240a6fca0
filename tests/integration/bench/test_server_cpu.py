"""The API benchmark's server CPU: a process tree's CPU read from /proc, its children's included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bench.support.cpu import tree_cpu_seconds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

BURN = """
import sys, time
print("ready", flush=True)
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
print("done", flush=True)
sys.stdin.read()
"""


def test_a_tree_counts_the_cpu_its_children_spend_while_they_live():
    child = subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        before = tree_cpu_seconds(os.getpid())
        assert child.stdout.readline() == "done\n"  # 0.3 s of CPU spent by the child
        after = tree_cpu_seconds(os.getpid())
        own = tree_cpu_seconds(child.pid)
    finally:
        child.communicate("", timeout=10)
    assert before is not None and after is not None and own is not None
    assert after - before >= 0.25
    assert own >= 0.3 - 0.01  # the child alone, start-up included


def test_a_process_that_is_gone_counts_nothing():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    time.sleep(0.01)
    assert tree_cpu_seconds(child.pid) == 0.0
