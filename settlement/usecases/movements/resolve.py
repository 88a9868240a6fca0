"""Resolving movements left ``pending``: ask the platform by key, then write what ``decide`` says.

The caller holds the bill's lock, which every owner of a movement holds until it commits: a
movement still ``pending`` under that lock belongs to an owner that never committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from settlement.billing.tables import Bill
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import InsurancePlatform, OutcomeUnknown
from settlement.usecases.movements import decide, journal
from settlement.usecases.movements.decide import Intent, Outcome, Resolution


def outcome_of(platform: InsurancePlatform, intent: Intent) -> Outcome:
    """What the platform says of ``intent``'s key (a query, never the movement again)."""
    try:
        made = platform.movement(intent.key)
    except OutcomeUnknown:
        return "unknown"
    return "none" if made is None else "moved"


def write(
    session: Session,
    platform: InsurancePlatform,
    intent: Intent,
    outcome: Outcome,
    *,
    now: datetime,
) -> Resolution:
    """Write the resolution of ``intent`` given ``outcome``: marked ``failed``; given back (the
    give-back is a movement made like any other: intent first, by key); a give-back ``done``
    (or made now) and what it undid ``returned``."""
    decided = decide.resolution(intent, outcome)
    if decided == "failed":
        journal.mark(session, [intent.key], "failed", now=now)
    elif decided == "give_back":
        journal.move(session, platform, [decide.give_back(intent)], now=now)
        journal.mark(session, [intent.key], "returned", now=now)
    elif decided in ("done", "call_again"):
        if decided == "call_again":
            journal.move(session, platform, [intent], now=now)
        journal.mark(session, [intent.key], "done", now=now)
        journal.mark(session, [intent.reference], "returned", now=now)
    return decided


def resolve_pending(
    session: Session, platform: InsurancePlatform, bill_id: str, *, now: datetime
) -> list[Resolution]:
    """Resolve every pending movement of the bill (the caller holds its lock)."""
    return [
        write(session, platform, intent, outcome_of(platform, intent), now=now)
        for intent in journal.pending_of(session, bill_id)
    ]


def leftovers(
    session: Session, platform: InsurancePlatform, bill: Bill, *, now: datetime
) -> Intent | None:
    """Before a payment (or the close's settlement) of ``bill`` splits, what earlier attempts
    left pending is resolved: the patient's own-account debit the platform made is returned, to
    be taken over by this payment if it takes the same amount (else given back); anything else is
    resolved as the sweep would. Refused (503) while the platform cannot be asked."""
    if platform.shares_transaction:
        return None
    taken: Intent | None = None
    for intent in journal.pending_of(session, bill.bill_id):
        outcome = outcome_of(platform, intent)
        if outcome == "unknown":
            raise ServiceError(
                journal.UNAVAILABLE,
                f"an earlier payment's movement {intent.key} cannot be resolved now; retry",
            )
        if taken is None and decide.adoptable(intent, outcome, psn_no=bill.psn_no):
            taken = intent
        else:
            write(session, platform, intent, outcome, now=now)
    return taken
