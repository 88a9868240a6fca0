"""Rate limits on what an unauthenticated caller can make the service do (issue 17).

A login code request sends an SMS and a login attempt guesses a code, so both are limited per
client address and for everyone together; wrong codes for one phone, across all its codes, lock
that phone for the rest of the window (its right code too); wallet callbacks, which anyone can
send and which are recorded before their signature is known good, are limited per address. The
limits are settings (``SHUXIN_RATE_LIMIT_*``, ``SHUXIN_LOGIN_FAILURES_PER_PHONE``) and their
counters live in the database (:mod:`settlement.access.rate_limits`), so they hold however many
API processes serve. A refusal is ``429 rate_limited`` with ``Retry-After`` and ``retry_after``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NoReturn

from fastapi import Request
from limits import RateLimitItem
from sqlalchemy.orm import Session

from api.errors import ApiError
from settlement.access.rate_limits import exhausted, hit, parse_limits
from settlement.bootstrap import Container


@functools.cache
def limits_of(text: str) -> tuple[RateLimitItem, ...]:
    """A setting's limits, parsed once per process."""
    return tuple(parse_limits(text))


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def enforce(container: Container, checks: Sequence[tuple[str, str]], *, what: str) -> None:
    """Count one hit on each ``(key, limits setting text)`` in turn, committed whatever follows;
    refuse at the first that is over its limit (later keys are then not counted)."""
    now = container.real_clock.now()
    with container.uow() as uow:
        for key, setting in checks:
            wait = hit(uow.session, key=key, limits=limits_of(setting), now=now)
            if wait is not None:
                uow.commit()
                refuse(f"too many {what}; retry in {wait} s", wait)
        uow.commit()


def wait_before(container: Container, key: str, setting: str) -> int | None:
    """Count one hit on ``key`` (committed); the seconds to wait if it is over its limits."""
    with container.uow() as uow:
        wait = hit(uow.session, key=key, limits=limits_of(setting), now=container.clock.now())
        uow.commit()
    return wait


def refuse_locked_phone(container: Container, session: Session, digest: str) -> None:
    """429 while the phone (its keyed digest) is locked by its wrong codes."""
    wait = exhausted(
        session,
        key=_failures_key(digest),
        limits=limits_of(container.settings.login_failures_per_phone),
        now=container.real_clock.now(),
    )
    if wait is not None:
        refuse(f"too many wrong codes for this phone; it is locked, retry in {wait} s", wait)


def count_wrong_code(container: Container, session: Session, digest: str) -> None:
    """A wrong code for the phone, counted towards its lock (the caller commits)."""
    hit(
        session,
        key=_failures_key(digest),
        limits=limits_of(container.settings.login_failures_per_phone),
        now=container.real_clock.now(),
    )


def _failures_key(digest: str) -> str:
    return f"login-failures:{digest}"


def refuse(message: str, wait: int) -> NoReturn:
    raise ApiError("rate_limited", message, retry_after=wait)
