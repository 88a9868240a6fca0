"""Only one scheduler leads at a time.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held by a dedicated
connection. The lock lives exactly as long as that connection, so when the leader's process or
connection dies the server releases it and a follower's next try takes over. The key includes
the current schema, so separate deployments (and test runs) in one database do not compete.

SQLite (one machine, for development and tests): a lease row, renewed each tick; a follower takes
over once the leader has not renewed it for ``lease``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from settlement.scheduler.context import SchedulerContext
from settlement.scheduler.tables import SchedulerLease

logger = logging.getLogger("shuxin.scheduler")

LOCK_NAME = "shuxin-scheduler"
_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:name || current_schema(), 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:name || current_schema(), 0))")
#: Whether any session of this database holds the lock: pg_locks shows a bigint advisory key as
#: its high half (classid) and low half (objid), with objsubid 1.
_LOCK_HELD = text(
    "WITH lock AS (SELECT hashtextextended(:name || current_schema(), 0) AS key) "
    "SELECT EXISTS (SELECT 1 FROM pg_locks, lock WHERE pg_locks.locktype = 'advisory' "
    "AND pg_locks.granted AND pg_locks.objsubid = 1 "
    "AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND pg_locks.classid::bigint = ((lock.key >> 32) & 4294967295) "
    "AND pg_locks.objid::bigint = (lock.key & 4294967295))"
)


class Leadership(Protocol):
    leader_id: str

    def try_lead(self) -> bool:
        """Take or keep the lead; ``False`` while another scheduler leads."""
        ...

    def release(self) -> None:
        """Give the lead up, so a follower may take it at once."""
        ...


def new_leader_id() -> str:
    return f"scheduler-{uuid.uuid4().hex[:12]}"


class AdvisoryLockLeadership:
    """Leads while its own connection holds the advisory lock."""

    def __init__(self, container: SchedulerContext, *, leader_id: str | None = None) -> None:
        self.container = container
        self.leader_id = leader_id or new_leader_id()
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection | None:
        """The connection that holds the lock while leading (tests close it to simulate death)."""
        return self._connection

    def try_lead(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                logger.warning("%s lost its lock connection; no longer leading", self.leader_id)
                self._discard()
        connection = self.container.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # Out of the pool: closing (or losing) this object ends the session and so frees the
        # lock, instead of handing a connection that holds it to another request.
        connection.detach()
        try:
            got = bool(connection.execute(_TRY_LOCK, {"name": LOCK_NAME}).scalar())
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        logger.info("%s leads the scheduler", self.leader_id)
        return True

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.invalidate()
            connection.close()

    def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute(_UNLOCK, {"name": LOCK_NAME})
            self._connection = None
            connection.close()
        except DBAPIError:
            self._discard()


class LeaseLeadership:
    """Leads while its lease row is unexpired; each successful try renews it."""

    def __init__(
        self, container: SchedulerContext, *, lease: timedelta, leader_id: str | None = None
    ) -> None:
        self.container = container
        self.lease = lease
        self.leader_id = leader_id or new_leader_id()

    def try_lead(self) -> bool:
        with self.container.uow() as uow:
            now = self.container.real_clock.now()
            row = uow.session.get(SchedulerLease, LOCK_NAME, with_for_update=True)
            if row is None:
                row = SchedulerLease(name=LOCK_NAME, leader_id=self.leader_id)
                uow.session.add(row)
            elif row.leader_id != self.leader_id and row.expires_at > now:
                return False
            if row.leader_id != self.leader_id:
                logger.info("%s leads the scheduler (lease of %s)", self.leader_id, row.leader_id)
            row.leader_id = self.leader_id
            row.renewed_at = now
            row.expires_at = now + self.lease
            uow.commit()
            return True

    def release(self) -> None:
        with self.container.uow() as uow:
            row = uow.session.get(SchedulerLease, LOCK_NAME, with_for_update=True)
            if row is not None and row.leader_id == self.leader_id:
                row.expires_at = self.container.real_clock.now()
                uow.commit()


def leadership_for(container: SchedulerContext, *, leader_id: str | None = None) -> Leadership:
    """The advisory lock on PostgreSQL, a lease of three intervals elsewhere."""
    if container.engine.dialect.name == "postgresql":
        return AdvisoryLockLeadership(container, leader_id=leader_id)
    interval = timedelta(seconds=container.settings.scheduler_interval_seconds)
    return LeaseLeadership(container, lease=3 * interval, leader_id=leader_id)


def someone_leads(container: SchedulerContext) -> bool:
    """Whether a scheduler, in any process, leads now (read-only: takes nothing).

    PostgreSQL: some session holds the advisory lock. SQLite: the lease is unexpired.
    """
    if container.engine.dialect.name == "postgresql":
        with container.engine.connect() as connection:
            return bool(connection.execute(_LOCK_HELD, {"name": LOCK_NAME}).scalar())
    with container.uow() as uow:
        row = uow.session.get(SchedulerLease, LOCK_NAME)
        return row is not None and row.expires_at > container.real_clock.now()
