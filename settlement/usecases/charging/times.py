"""Whether a time an HIS states (a visit's ``begntime``, a fee's ``fee_ocur_time``) is plausible.

A visit is priced with the insurance policy in force on the day it began; one whose day has no
policy could never be priced, presettled, closed or swept, so it is refused when it arrives. A
time further ahead of the service's clock than the scheme's ``[visits] max_ahead_hours`` is a
typo or a wrong clock, not a visit. Both bounds are policy (``seeds/policies``,
``seeds/scheme.toml``), not code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import NoReturn
from zoneinfo import ZoneInfo

from insurance.errors import NoPolicyInForceError
from insurance.policy import PolicyBook
from settlement.foundation.errors import ServiceError


def check_times(
    times: Iterable[tuple[str, datetime]],
    *,
    now: datetime,
    max_ahead: timedelta,
    policies: PolicyBook,
    timezone: str,
) -> None:
    """Refuse (422 ``validation_error``, naming the field) the first implausible time.

    ``times``: (field path, time) pairs, e.g. ``("fees.0.fee_ocur_time", …)``.
    """
    latest = now + max_ahead
    zone = ZoneInfo(timezone)
    days_checked: set[date] = set()
    for path, moment in times:
        if moment > latest:
            hours = max_ahead.total_seconds() / 3600
            _refuse(path, f"is more than {hours:g} h after the service's time ({now.isoformat()})")
        day = moment.astimezone(zone).date()
        if day in days_checked:
            continue
        try:
            policies.in_force(day)
        except NoPolicyInForceError as error:
            _refuse(path, error.message)
        days_checked.add(day)


def _refuse(path: str, problem: str) -> NoReturn:
    raise ServiceError(
        "validation_error",
        f"{path} {problem}",
        fields=[{"path": path, "message": problem, "type": "time_window"}],
    )
