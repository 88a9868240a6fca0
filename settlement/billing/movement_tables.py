"""The intents of personal-account movements: written before the insurance platform is called.

A remote insurance platform moves money outside our transaction, so each movement it is asked to
make is first recorded here on a connection of its own (committed before the call: it survives
the caller's transaction rolling back), then marked ``done`` in the caller's transaction with the
effect it belongs to. One still ``pending`` once its owner has let go of the bill is an unknown
outcome: ``settlement.usecases.movements`` resolves it by asking the platform by key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

#: pending (asked, or about to be) → done (its owner committed) | failed (the platform made
#: none) | returned (made for an owner that never committed, and given back).
MOVEMENT_STATES = ("pending", "done", "failed", "returned")
#: What a movement is for: a payment's debit, the credit of a failed payment's release, a
#: refund's net movement, or the reverse of one made for an owner that never committed.
MOVEMENT_PURPOSES = ("pay", "release", "refund", "return")


class AccountMovementIntent(Base):
    __tablename__ = "account_movements"
    __table_args__ = (Index("ix_account_movements_state_created", "state", "created_at"),)

    #: The idempotency key the platform is called with (``paying.decide.movement_key``).
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    bill_id: Mapped[str] = mapped_column(String(40), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    #: The settlement it belongs to (for ``return``: the key of the movement it reverses).
    reference: Mapped[str] = mapped_column(String(160))
    psn_no: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(8))  # debit | credit
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
