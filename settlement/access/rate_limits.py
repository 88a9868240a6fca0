"""Rate limits whose counters live in the database, so every API process counts the same hits.

Fixed windows, as the ``limits`` library defines them (``"10/minute;50/hour"``, parsed with
:func:`limits.parse_many`): a window starts at a multiple of its length since the Unix epoch, and
one upsert per call adds a hit to each window of a key and reads the counts back, so two
processes (or threads) can never both take the last hit. Keys name what is counted
(``otp:client:203.0.113.7``, ``login-failures:<phone digest>``); never a phone number itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from limits import RateLimitItem, parse_many
from sqlalchemy import Integer, String, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.orm import Base, UTCDateTime

KEY_LENGTH = 160


class RateLimitCounter(Base):
    """Hits of one key in one window of one length."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    window_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    #: When the window ends; rows past it are purged (:func:`purge_expired_counters`).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def parse_limits(text: str) -> list[RateLimitItem]:
    """``"10/minute;50/hour"`` as limit items; ``ValueError`` names what is wrong."""
    items = list(parse_many(text))
    if not items:
        raise ValueError(f"no rate limit in {text!r}")
    lengths = [int(item.get_expiry()) for item in items]
    if len(set(lengths)) != len(lengths):
        raise ValueError(f"two limits of {text!r} have windows of the same length")
    return items


def _window(item: RateLimitItem, now: datetime) -> tuple[datetime, int]:
    seconds = int(item.get_expiry())
    start = math.floor(now.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(start, UTC), seconds


def _wait(start: datetime, seconds: int, now: datetime) -> int:
    return max(1, math.ceil((start + timedelta(seconds=seconds) - now).total_seconds()))


def hit(
    session: Session, *, key: str, limits: Sequence[RateLimitItem], now: datetime
) -> int | None:
    """Count one hit of ``key`` in each of its windows; the seconds until the most exceeded one
    ends if a limit is now passed, else ``None``. The caller commits (a refused hit counts too:
    within a fixed window it changes nothing, and it keeps this one statement)."""
    windows = [(item, *_window(item, now)) for item in limits]
    rows = [
        {
            "key": key[:KEY_LENGTH],
            "window_start": start,
            "window_seconds": seconds,
            "hits": 1,
            "expires_at": start + timedelta(seconds=seconds),
        }
        for _, start, seconds in windows
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    upsert = insert(RateLimitCounter).values(rows)
    statement = upsert.on_conflict_do_update(
        index_elements=["key", "window_start", "window_seconds"],
        set_={"hits": RateLimitCounter.hits + 1},
    ).returning(RateLimitCounter.window_seconds, RateLimitCounter.hits)
    counts: dict[int, int] = {seconds: hits for seconds, hits in session.execute(statement)}
    waits = [
        _wait(start, seconds, now)
        for item, start, seconds in windows
        if counts.get(seconds, 0) > item.amount
    ]
    return max(waits) if waits else None


def exhausted(
    session: Session, *, key: str, limits: Sequence[RateLimitItem], now: datetime
) -> int | None:
    """Without counting: the seconds until ``key`` may be counted again if one of its limits is
    used up (``hits >= amount``), else ``None``."""
    windows = [(item, *_window(item, now)) for item in limits]
    rows = session.execute(
        select(RateLimitCounter.window_seconds, RateLimitCounter.hits).where(
            RateLimitCounter.key == key[:KEY_LENGTH],
            tuple_(RateLimitCounter.window_start, RateLimitCounter.window_seconds).in_(
                [(start, seconds) for _, start, seconds in windows]
            ),
        )
    )
    counts: dict[int, int] = {seconds: hits for seconds, hits in rows}
    waits = [
        _wait(start, seconds, now)
        for item, start, seconds in windows
        if counts.get(seconds, 0) >= item.amount
    ]
    return max(waits) if waits else None


def purge_expired_counters(session: Session, now: datetime) -> int:
    """Delete counters whose window has ended; return how many went."""
    result = session.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now))
    return int(getattr(result, "rowcount", 0))
