"""The scheme's own policy (the repayment window and its reminders), from ``seeds/scheme.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any


class SchemeConfigError(ValueError):
    """The scheme file is unusable; the message names the file and the field."""


@dataclass(frozen=True)
class FamilyPolicy:
    """Family accounts (亲情账号): how many links, and whether overdue shared bills freeze."""

    max_relatives_per_manager: int = 5
    max_managers_per_relative: int = 2
    #: A relative's overdue bill that drew on a manager's line freezes the manager's standing.
    freeze_shared_on_overdue: bool = True


@dataclass(frozen=True)
class PaymentsPolicy:
    """Wallet payments: when to stop waiting for a provider's callback and ask it instead."""

    #: A wallet order pending this long without a callback is queried from its provider.
    query_pending_after: timedelta = timedelta(minutes=15)


#: The policy default of ``[repayment] min_notice_hours``, for a scheme file without it.
DEFAULT_MIN_NOTICE_HOURS = 24
#: The policy default of ``[visits] max_ahead_hours``, for a scheme file without it.
DEFAULT_MAX_AHEAD_HOURS = 24


@dataclass(frozen=True)
class SchemePolicy:
    version: str
    window: timedelta
    remind_at_close: bool
    remind_before: tuple[timedelta, ...]
    autopay_before: timedelta
    escalate_after: timedelta
    auto_close_at: time
    #: A bill is never due sooner than this after it is made: a visit that closed itself long
    #: ago (the scheduler was down) still gives its patient this notice and its reminders.
    min_notice: timedelta = timedelta(hours=DEFAULT_MIN_NOTICE_HOURS)
    #: A ``begntime`` or ``fee_ocur_time`` later than this after the service's clock is refused.
    max_ahead: timedelta = timedelta(hours=DEFAULT_MAX_AHEAD_HOURS)
    family: FamilyPolicy = field(default_factory=FamilyPolicy)
    payments: PaymentsPolicy = field(default_factory=PaymentsPolicy)


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
            min_notice=timedelta(
                hours=int(repayment.get("min_notice_hours", DEFAULT_MIN_NOTICE_HOURS))
            ),
            max_ahead=timedelta(hours=int(visits.get("max_ahead_hours", DEFAULT_MAX_AHEAD_HOURS))),
            family=_family_policy(data.get("family", {})),
            payments=_payments_policy(data.get("payments", {})),
        )
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise SchemeConfigError(f"{path}: {type(error).__name__}: {error}") from None
    family = policy.family
    if family.max_relatives_per_manager < 1 or family.max_managers_per_relative < 1:
        raise SchemeConfigError(f"{path}: family limits must be at least 1")
    if policy.payments.query_pending_after <= timedelta(0):
        raise SchemeConfigError(f"{path}: payments.query_pending_after_minutes must be positive")
    if window_hours <= 0 or any(h <= 0 or h >= window_hours for h in before):
        raise SchemeConfigError(f"{path}: reminders must fall inside a positive window")
    if policy.max_ahead < timedelta(0):
        raise SchemeConfigError(f"{path}: visits.max_ahead_hours must not be negative")
    if not timedelta(0) < policy.min_notice <= policy.window:
        raise SchemeConfigError(f"{path}: min_notice_hours must be positive and within the window")
    return policy


def _family_policy(section: dict[str, Any]) -> FamilyPolicy:
    """The ``[family]`` section; a file without one gets the policy defaults."""
    defaults = FamilyPolicy()
    return FamilyPolicy(
        max_relatives_per_manager=int(
            section.get("max_relatives_per_manager", defaults.max_relatives_per_manager)
        ),
        max_managers_per_relative=int(
            section.get("max_managers_per_relative", defaults.max_managers_per_relative)
        ),
        freeze_shared_on_overdue=bool(
            section.get("freeze_shared_on_overdue", defaults.freeze_shared_on_overdue)
        ),
    )


def _payments_policy(section: dict[str, Any]) -> PaymentsPolicy:
    """The ``[payments]`` section; a file without one gets the policy defaults."""
    default = PaymentsPolicy().query_pending_after
    minutes = section.get("query_pending_after_minutes", default.total_seconds() // 60)
    return PaymentsPolicy(query_pending_after=timedelta(minutes=int(minutes)))
