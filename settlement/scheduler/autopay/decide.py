"""What the auto-pay sweep does, decided in pure code (no database).

:func:`decide_candidates` picks, from a page of unpaid bills of patients who chose auto-pay in
some signature, those whose newest signature's choice makes it time to pay now;
:func:`decide_attempt` says what to do with one bill once its row is locked: leave it (someone
else holds it, or it is no longer ``billed``), skip it for good (no withholding agreement), or
start the payment with the provider holding the agreement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

#: The bill state auto-pay starts from (``settlement.billing.bill_states.BILLED``).
BILLED = "billed"
ON_CLOSE = "on_close"
BEFORE_DEADLINE = "before_deadline"
NO_AGREEMENT = "no withholding agreement"


class Candidate(Protocol):
    @property
    def psn_no(self) -> str: ...

    @property
    def due_at(self) -> datetime: ...


C = TypeVar("C", bound=Candidate)


def decide_candidates(
    page: Sequence[C], *, choices: Mapping[str, str], lead: timedelta, now: datetime
) -> list[C]:
    """The bills of ``page`` to pay now, in page order.

    ``choices``: each patient's ``autopay`` in their newest signature still in force (a patient
    may have signed several versions; only the newest counts). ``on_close`` pays at once;
    ``before_deadline`` once ``now`` is within ``lead`` of ``due_at``, or past it (a scheduler
    that ran late still pays rather than let the bill go overdue).
    """
    return [
        bill for bill in page if wants_autopay(choices.get(bill.psn_no), bill.due_at, lead, now)
    ]


def wants_autopay(choice: str | None, due_at: datetime, lead: timedelta, now: datetime) -> bool:
    return choice == ON_CLOSE or (choice == BEFORE_DEADLINE and due_at - lead <= now)


@dataclass(frozen=True, slots=True)
class Leave:
    """Do nothing now: the bill is held by another transaction or no longer ``billed``."""

    outcome: str = "busy"


@dataclass(frozen=True, slots=True)
class Skip:
    """Record the ``autopay`` action as skipped, for good: there is nothing to withhold from."""

    detail: str = NO_AGREEMENT
    outcome: str = "no_agreement"


@dataclass(frozen=True, slots=True)
class Start:
    """Claim the ``autopay`` action and start the withholding payment with ``provider``."""

    provider: str
    outcome: str = "started"


Attempt = Leave | Skip | Start


def decide_attempt(status: str | None, provider: str | None) -> Attempt:
    """What to do with a candidate whose row (``status``, ``None``: taken by someone else) is
    locked: only a ``billed`` bill is paid, and only from a withholding agreement."""
    if status != BILLED:
        return Leave()
    if provider is None:
        return Skip()
    return Start(provider)
