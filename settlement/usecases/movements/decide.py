"""What a personal-account movement left ``pending`` becomes, from the platform's answer (pure).

A movement is ``pending`` once its owner (a payment, a close, a refund, a failed payment's
release) has let go of the bill without committing: the call's outcome was unknown, or the owner
failed after it. The platform, asked by key, says whether it moved the money; nobody calls
again blind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

#: The platform's answer to a query by key: it made the movement, it made none, or it could not
#: be asked (the movement stays pending, for the next tick).
Outcome = Literal["moved", "none", "unknown"]
#: What becomes of a pending movement.
Resolution = Literal["wait", "failed", "give_back", "done", "call_again"]

OPPOSITE = {"debit": "credit", "credit": "debit"}


@dataclass(frozen=True)
class Intent:
    """A recorded movement: its key, what it is for, whose account, which way, how much."""

    key: str
    bill_id: str
    purpose: str  # pay | release | refund | return
    reference: str
    psn_no: str
    direction: str  # debit | credit
    amount_fen: int


def resolution(intent: Intent, outcome: Outcome) -> Resolution:
    """A movement whose owner never committed: given back when the platform made it, ``failed``
    (nothing to undo) when it made none. A give-back is itself a movement: ``done`` when made,
    and made (with its own key, so at most once) when the platform made none."""
    if outcome == "unknown":
        return "wait"
    if intent.purpose == "return":
        return "done" if outcome == "moved" else "call_again"
    return "give_back" if outcome == "moved" else "failed"


def give_back(intent: Intent) -> Intent:
    """The movement undoing ``intent``: the other way, the same account and amount; its key is
    derived from the one it undoes, so giving back twice moves money once."""
    assert intent.purpose != "return", "a give-back is never given back"
    return replace(
        intent,
        key=f"{intent.key}:back",
        purpose="return",
        reference=intent.key,
        direction=OPPOSITE[intent.direction],
    )


def adoptable(intent: Intent, outcome: Outcome, *, psn_no: str) -> bool:
    """A retried payment of the bill may take over ``intent`` (its key, its settlement id) rather
    than give it back: the patient's own-account debit of a payment, made by the platform."""
    return (
        outcome == "moved"
        and intent.purpose == "pay"
        and intent.direction == "debit"
        and intent.psn_no == psn_no
    )
