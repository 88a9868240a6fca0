"""Progress bars of long command-line work: drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session

from settlement.ledger.verify import verify_ledger
from tests.e2e.server import clean_environment
from tests.harness import build_service


class Recorded:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.done: dict[str, int] = {}

    def stage(self, description: str, total: int | None = None) -> None:
        self.stages.append((description, total))
        self.done[description] = 0

    def advance(self, steps: int = 1) -> None:
        self.done[self.stages[-1][0]] += steps


def test_verifying_the_ledger_reports_each_account_checked(engine):
    service = build_service(engine)
    his = service.add_hospital("H3")
    for _ in range(3):
        person, _ = service.enrol()
        his.open_visit(person.psn_no)
    progress = Recorded()
    with engine.connect() as connection:
        report = verify_ledger(Session(connection), progress=progress)
    assert report.ok and report.accounts > 3
    stages = dict(progress.stages)
    assert stages["checking the accounts"] == report.accounts
    assert progress.done["checking the accounts"] == report.accounts
    for description, total in progress.stages:
        assert progress.done[description] == total, description


def shuxin(folder: Path, *args: str, terminal: bool = False) -> tuple[int, str]:
    """Run ``shuxin ARGS`` in ``folder``; its standard error, read through a terminal or a pipe."""
    env = clean_environment({"SHUXIN_DATABASE_URL": f"sqlite:///{folder}/s.db", "TERM": "xterm"})
    argv = [sys.executable, "-m", "api.cli", *args]
    if not terminal:
        done = subprocess.run(
            argv, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        return done.returncode, done.stderr
    controller, terminal_end = pty.openpty()
    process = subprocess.Popen(
        argv, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=terminal_end
    )
    os.close(terminal_end)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=10), b"".join(chunks).decode(errors="replace")


def test_seeding_and_verifying_draw_bars_on_a_terminal_and_nothing_in_a_pipe(tmp_path):
    code, piped = shuxin(tmp_path, "seed", "--demo")
    assert code == 0
    assert "demo agreements" not in piped and "━" not in piped
    code, piped = shuxin(tmp_path, "ledger", "verify")
    assert code == 0
    assert "checking the accounts" not in piped and "━" not in piped

    fresh = tmp_path / "again"
    fresh.mkdir()
    code, drawn = shuxin(fresh, "seed", "--demo", terminal=True)
    assert code == 0
    assert "demo agreements" in drawn and "━" in drawn
    assert "24/24" in drawn  # every other demo person signs
    code, drawn = shuxin(fresh, "ledger", "verify", terminal=True)
    assert code == 0
    assert "checking the accounts" in drawn


def test_the_demo_seeding_reports_its_stages(engine):
    from settlement.bootstrap import bootstrap
    from settlement.foundation.config import Settings
    from settlement.seeding import seed_all

    container = bootstrap(Settings(database_url="sqlite://"), engine=engine)
    progress = Recorded()
    seed_all(container, demo=True, progress=progress)
    assert [description for description, _ in progress.stages] == [
        "catalogue",
        "demo hospitals",
        "demo insured persons",
        "demo agreements",
    ]
    assert progress.done["demo insured persons"] == dict(progress.stages)["demo insured persons"]
    assert progress.done["demo agreements"] == dict(progress.stages)["demo agreements"] == 24
