"""Claiming an action for a bill: the insert that makes it happen exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from settlement.scheduler.tables import DONE, ScheduledAction

ACTIONS = cast(Table, ScheduledAction.__table__)
SelectT = TypeVar("SelectT", bound=Select[Any])


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
    rows = [
        {"bill_id": bill_id, "kind": kind, "outcome": outcome, "detail": detail, "done_at": now}
        for bill_id in dict.fromkeys(bill_ids)
    ]
    if not rows:
        return set()
    insert = (
        postgresql_insert(ACTIONS)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite_insert(ACTIONS)
    )
    statement = insert.on_conflict_do_nothing(index_elements=["bill_id", "kind"]).returning(
        ACTIONS.c.bill_id
    )
    return set(session.scalars(statement, rows))


def skip_locked(session: Session, query: SelectT, *of: Any) -> SelectT:
    """``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers and needs nothing."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=list(of) or None)
    return query
