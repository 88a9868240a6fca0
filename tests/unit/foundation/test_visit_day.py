"""When a visit left open closes itself, and the policy's minimum notice for a bill."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from settlement.foundation.config import Settings
from settlement.foundation.scheme import SchemeConfigError, load_scheme
from settlement.scheduler.sweeps import end_of_visit_day

SHIPPED = Settings().seeds_dir / "scheme.toml"
DEZHOU = ZoneInfo("Asia/Shanghai")


def container(auto_close_at: str = "23:59", timezone: str = "Asia/Shanghai") -> SimpleNamespace:
    scheme = SimpleNamespace(auto_close_at=time.fromisoformat(auto_close_at))
    return SimpleNamespace(settings=SimpleNamespace(timezone=timezone), scheme=scheme)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=DEZHOU)


@pytest.mark.parametrize(
    ("opened", "closes"),
    [
        (local(2026, 11, 29, 0, 0, 0), local(2026, 11, 29, 23, 59)),
        (local(2026, 11, 29, 9, 30, 0), local(2026, 11, 29, 23, 59)),
        (local(2026, 11, 29, 23, 58, 59), local(2026, 11, 29, 23, 59)),
        # Opened at or after the day's close: the sweep takes it at the next one.
        (local(2026, 11, 29, 23, 59, 0), local(2026, 11, 30, 23, 59)),
        (local(2026, 11, 29, 23, 59, 30), local(2026, 11, 30, 23, 59)),
        # The local day, not the UTC one: 07:30 in Dezhou is 23:30 UTC the day before.
        (datetime(2026, 11, 28, 23, 30, tzinfo=UTC), local(2026, 11, 29, 23, 59)),
    ],
)
def test_a_visit_closes_itself_at_the_policy_moment_that_ends_the_day_it_was_opened(opened, closes):
    moment = end_of_visit_day(container(), opened)
    assert moment == closes
    assert moment.tzinfo == UTC  # stored as UTC, like every time


def test_the_end_of_day_follows_the_configured_time_and_zone():
    opened = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    midnight = end_of_visit_day(container("00:00"), opened)
    assert midnight == local(2026, 11, 30, 0, 0)
    berlin = end_of_visit_day(container(timezone="Europe/Berlin"), opened)
    assert berlin == datetime(2026, 11, 29, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))


def test_the_shipped_scheme_gives_a_bill_at_least_24_hours_notice():
    assert load_scheme(SHIPPED).min_notice == timedelta(hours=24)


def with_notice(tmp_path: Path, line: str | None) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    kept = [row for row in text.splitlines() if not row.startswith("min_notice_hours")]
    if line is not None:
        kept.insert(kept.index("[repayment]") + 1, line)
    path = tmp_path / "scheme.toml"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def test_a_scheme_file_without_a_minimum_notice_gets_the_policy_default(tmp_path):
    assert load_scheme(with_notice(tmp_path, None)).min_notice == timedelta(hours=24)
    assert load_scheme(with_notice(tmp_path, "min_notice_hours = 6")).min_notice == timedelta(
        hours=6
    )


@pytest.mark.parametrize("hours", [0, -1, 73])
def test_a_minimum_notice_outside_the_window_is_refused(tmp_path, hours):
    with pytest.raises(SchemeConfigError, match="min_notice_hours"):
        load_scheme(with_notice(tmp_path, f"min_notice_hours = {hours}"))
