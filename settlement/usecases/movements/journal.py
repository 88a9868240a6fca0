"""Making personal-account movements: intent first, the call by key, the intent done with its owner.

With a platform that shares our transaction (the sandbox's default) a rollback undoes its
movements along with ours, so the call is all there is (nothing recorded, nothing to resolve).
With a remote one, the intents are committed on a connection of their own before the call, so
they survive the caller's transaction rolling back (or the process dying), and are marked
``done`` in the caller's transaction, with the effect they belong to: a movement ``pending`` once
its owner let go of the bill is an unknown outcome, for ``settlement.usecases.movements.resolve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from insurance.money import from_fen
from settlement.billing.movement_tables import AccountMovementIntent
from settlement.foundation.db import autonomous
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import InsurancePlatform, OutcomeUnknown
from settlement.usecases.movements.decide import Intent

#: The refusal when the platform's answer is unknown or it cannot be reached (503): nothing of
#: ours was written; a retry reuses the movement's key, so the platform moves money at most once.
UNAVAILABLE = "insurance_platform_unavailable"

_TABLE = AccountMovementIntent


def move(
    session: Session, platform: InsurancePlatform, intents: Sequence[Intent], *, now: datetime
) -> None:
    """Make ``intents`` (those of a positive amount) on the platform, for the caller's
    transaction: recorded first (remote platform), called with their keys, marked ``done``.

    Raises ``insurance_platform_unavailable`` when an answer was lost: the caller's transaction
    rolls back and the recorded intents stay ``pending``."""
    wanted = [intent for intent in intents if intent.amount_fen > 0]
    if not wanted:
        return
    if not platform.shares_transaction:
        wanted = record(session, wanted, now=now)
    for intent in wanted:
        call(platform, intent)
    if not platform.shares_transaction:
        mark(session, [intent.key for intent in wanted], "done", now=now)


def call(platform: InsurancePlatform, intent: Intent) -> None:
    """The platform's movement of ``intent``, by its key."""
    amount = from_fen(intent.amount_fen)
    try:
        if intent.direction == "debit":
            platform.debit_personal_account(intent.psn_no, amount, key=intent.key)
        else:
            platform.credit_personal_account(intent.psn_no, amount, key=intent.key)
    except OutcomeUnknown:
        raise ServiceError(
            UNAVAILABLE,
            "the insurance platform's answer was lost; retry: the movement is resolved by its key",
        ) from None


def record(session: Session, intents: Sequence[Intent], *, now: datetime) -> list[Intent]:
    """The intents, committed on a connection of their own (PostgreSQL: a remote platform needs
    a second writer); the intents as recorded. A key already recorded ``pending`` (a retry) or
    ``failed`` (the platform made none) is used again. One whose movement was given back
    (``returned``: a refund retried after the sweep undid its first attempt) is not: the
    movement takes the key's next generation (``…#2``), so the platform moves it anew, once."""
    recorded: list[Intent] = []
    with autonomous(session) as connection:
        for intent in intents:
            for generation in range(1, _GENERATIONS + 1):
                key = intent.key if generation == 1 else f"{intent.key}#{generation}"
                taken = connection.scalars(_record_statement(replace(intent, key=key), now)).first()
                if taken is not None:
                    recorded.append(replace(intent, key=key))
                    break
                state = connection.scalar(select(_TABLE.state).where(_TABLE.key == key))
                if state != "returned":  # done: its owner committed it; never made again
                    raise ServiceError("conflict", f"movement {key} is {state}")
            else:
                raise ServiceError("conflict", f"movement {intent.key}: every generation used")
    return recorded


#: How many times one movement may be made again after being given back (a bound, not a policy).
_GENERATIONS = 9


def _record_statement(intent: Intent, now: datetime) -> Any:
    row = {
        "key": intent.key,
        "bill_id": intent.bill_id,
        "purpose": intent.purpose,
        "reference": intent.reference,
        "psn_no": intent.psn_no,
        "direction": intent.direction,
        "amount_fen": intent.amount_fen,
        "state": "pending",
        "created_at": now,
    }
    return (
        postgresql_insert(_TABLE)
        .values(row)
        .on_conflict_do_update(
            index_elements=[_TABLE.key],
            set_={"state": "pending", "resolved_at": None},
            where=_TABLE.state.in_(("pending", "failed")),
        )
        .returning(_TABLE.key)
    )


def mark(session: Session, keys: Sequence[str], state: str, *, now: datetime) -> None:
    """Set the intents ``keys`` to ``state``, in the caller's transaction."""
    session.execute(
        update(AccountMovementIntent)
        .where(AccountMovementIntent.key.in_(keys))
        .values(state=state, resolved_at=now),
        execution_options={"synchronize_session": False},
    )


def pending_of(session: Session, bill_id: str) -> list[Intent]:
    """The bill's intents still ``pending``. The caller holds the bill's lock, which every
    writer of them holds; their rows are not locked, as :func:`record` (on a connection of its
    own) may touch them again while the caller waits for it."""
    query = (
        select(AccountMovementIntent)
        .where(AccountMovementIntent.bill_id == bill_id, AccountMovementIntent.state == "pending")
        .order_by(AccountMovementIntent.created_at, AccountMovementIntent.key)
    )
    return [as_intent(row) for row in session.scalars(query)]


def as_intent(row: AccountMovementIntent) -> Intent:
    return Intent(
        row.key,
        row.bill_id,
        row.purpose,
        row.reference,
        row.psn_no,
        row.direction,
        row.amount_fen,
    )
