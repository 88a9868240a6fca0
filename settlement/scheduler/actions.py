"""Claiming an action for a bill: the insert that makes it happen exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, bindparam, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from settlement.foundation.lists import text_array
from settlement.foundation.orm import UTCDateTime
from settlement.scheduler.tables import DONE, ScheduledAction

ACTIONS = cast(Table, ScheduledAction.__table__)
SelectT = TypeVar("SelectT", bound=Select[Any])

CLAIM_POSTGRESQL = text(
    "INSERT INTO scheduled_actions (bill_id, kind, outcome, detail, done_at) "
    "SELECT bill_id, :kind, :outcome, :detail, :now FROM unnest(CAST(:ids AS text[])) AS bill_id "
    "ON CONFLICT (bill_id, kind) DO NOTHING RETURNING bill_id"
).bindparams(bindparam("now", type_=UTCDateTime()))


def claim_actions(
    session: Session,
    *,
    bill_ids: Iterable[str],
    kind: str,
    now: datetime,
    outcome: str = DONE,
    detail: str | None = None,
) -> set[str]:
    """Record ``kind`` for each bill not already recorded; returns the bills this call claimed.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING``: a concurrent claim of the same pair waits for
    the first transaction and then inserts nothing, so only the winner acts.
    """
    wanted = list(dict.fromkeys(bill_ids))
    if not wanted:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        # One statement and one array for the whole batch, however large.
        return set(
            session.scalars(
                CLAIM_POSTGRESQL,
                {
                    "ids": text_array(wanted),
                    "kind": kind,
                    "outcome": outcome,
                    "detail": detail,
                    "now": now,
                },
            )
        )
    rows = [
        {"bill_id": bill_id, "kind": kind, "outcome": outcome, "detail": detail, "done_at": now}
        for bill_id in wanted
    ]
    statement = (
        sqlite_insert(ACTIONS)
        .on_conflict_do_nothing(index_elements=["bill_id", "kind"])
        .returning(ACTIONS.c.bill_id)
    )
    return set(session.scalars(statement, rows))
