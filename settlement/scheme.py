"""The scheme's own policy (the repayment window and its reminders), from ``seeds/scheme.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any


class SchemeConfigError(ValueError):
    """The scheme file is unusable; the message names the file and the field."""


@dataclass(frozen=True)
class SchemePolicy:
    version: str
    window: timedelta
    remind_at_close: bool
    remind_before: tuple[timedelta, ...]
    autopay_before: timedelta
    escalate_after: timedelta
    auto_close_at: time


def load_scheme(path: Path) -> SchemePolicy:
    """Read and check the scheme policy file."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        repayment, visits = data["repayment"], data["visits"]
        window_hours = int(repayment["window_hours"])
        before = tuple(sorted((int(h) for h in repayment["remind_hours_before"]), reverse=True))
        policy = SchemePolicy(
            version=str(data["version"]),
            window=timedelta(hours=window_hours),
            remind_at_close=bool(repayment["remind_at_close"]),
            remind_before=tuple(timedelta(hours=h) for h in before),
            autopay_before=timedelta(minutes=int(repayment["autopay_minutes_before"])),
            escalate_after=timedelta(days=int(repayment["escalate_after_days"])),
            auto_close_at=time.fromisoformat(str(visits["auto_close_at"])),
        )
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise SchemeConfigError(f"{path}: {type(error).__name__}: {error}") from None
    if window_hours <= 0 or any(h <= 0 or h >= window_hours for h in before):
        raise SchemeConfigError(f"{path}: reminders must fall inside a positive window")
    return policy
