"""What the scheduler has done (once per bill and kind) and who leads it (the SQLite lease)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"
#: An outside call intended and not yet resolved (``escalate``: the report to the credit
#: platform); resolved to ``done`` or ``skipped`` by a later transaction.
REPORTING = "reporting"


class ScheduledAction(Base):
    """One row per bill and kind, inserted in the transaction of the action's effect.

    The unique pair is what makes every action happen once: a second sweep (or a second
    scheduler) inserting the same pair gets nothing back and does nothing.
    """

    __tablename__ = "scheduled_actions"
    __table_args__ = (
        UniqueConstraint("bill_id", "kind", name="uq_scheduled_actions_bill_kind"),
        # The escalation sweep's unresolved intents (outcome ``reporting``, a handful among
        # every bill's actions): found from here, not by probing every bill for one.
        Index("ix_scheduled_actions_outcome_kind", "outcome", "kind", "bill_id"),
    )

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.bill_id"))
    #: ``remind_close`` | ``remind_24h`` | ``remind_2h`` | ``autopay`` | ``overdue`` | ``escalate``
    #: | ``settle_covered``
    kind: Mapped[str] = mapped_column(String(24))
    #: ``done``; ``skipped`` (a later reminder superseded it, or nothing to do); ``failed``;
    #: ``reporting`` (intended, its outside call's outcome not yet recorded).
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SchedulerLease(Base):
    """Leadership on SQLite: whoever holds an unexpired lease leads; renewed every tick."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    leader_id: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
