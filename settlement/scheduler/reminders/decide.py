"""Which reminders the reminder sweep sends, decided in pure code (no database).

The policy names reminders N hours before ``due_at`` and, optionally, one at close (the whole
window before ``due_at``). :func:`reminder_schedule` orders them latest first, each with the
earlier reminders it supersedes: after downtime a bill 1 h from its deadline gets the 2-hour
reminder only, and the earlier ones are recorded as skipped. :func:`decide_reminder` is what
one batch of claimed bills gets.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

REMIND_CLOSE = "remind_close"
REMIND_BEFORE = "remind_before"
#: The text of any reminder of a bill the insurance accounts cover whose settlement is being
#: retried (``settlement.scheduler.covered``): the patient owes ¥0.00 from the wallet.
REMIND_COVERED = "remind_covered"


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder kind, how long before ``due_at`` it falls due, and the earlier kinds it
    supersedes (recorded as skipped for the bills it reminds)."""

    kind: str
    before: timedelta
    superseded: tuple[str, ...]
    template: str
    values: dict[str, object] = field(default_factory=dict)


def reminder_schedule(
    remind_before: Sequence[timedelta], *, at_close: bool, window: timedelta
) -> tuple[Reminder, ...]:
    """The policy's reminders, the latest first (the one closest to the deadline)."""
    kinds = [(f"remind_{int(before.total_seconds() // 3600)}h", before) for before in remind_before]
    kinds.sort(key=lambda pair: pair[1])
    if at_close:
        kinds.append((REMIND_CLOSE, window))
    schedule: list[Reminder] = []
    for position, (kind, before) in enumerate(kinds):
        superseded = tuple(earlier for earlier, _ in kinds[position + 1 :])
        if kind == REMIND_CLOSE:
            schedule.append(Reminder(kind, before, superseded, REMIND_CLOSE))
        else:
            hours = int(before.total_seconds()) // 3600
            schedule.append(Reminder(kind, before, superseded, REMIND_BEFORE, {"hours": hours}))
    return tuple(schedule)


class Billed(Protocol):
    @property
    def bill_id(self) -> str: ...


B = TypeVar("B", bound=Billed)


@dataclass(frozen=True)
class ReminderPlan(Generic[B]):
    """What a batch gets: ``reminder`` told about ``bills`` (those this sweep claimed, in the
    batch's order), and each of the ``skipped`` kinds recorded for each of them. ``covered``:
    those of ``bills`` the insurance accounts cover while their settlement is retried, told
    with :data:`REMIND_COVERED` instead of the reminder's own text."""

    reminder: Reminder
    bills: tuple[B, ...]
    skipped: tuple[str, ...]
    covered: tuple[B, ...] = ()

    @property
    def owing(self) -> tuple[B, ...]:
        """The bills told the reminder's own text: all but the covered ones."""
        covered = {bill.bill_id for bill in self.covered}
        return tuple(bill for bill in self.bills if bill.bill_id not in covered)


def decide_reminder(
    reminder: Reminder, batch: Sequence[B], claimed: Set[str], covered: Set[str] = frozenset()
) -> ReminderPlan[B]:
    """The reminder for the bills of ``batch`` this sweep ``claimed`` the reminder of (another
    sweep at once claims the rest): the earlier reminders it supersedes are skipped for them.
    Those of them in ``covered`` (ids: the insurance accounts cover the bill and its settlement
    is being retried) are told what they owe now, ¥0.00 from the wallet, not the bill's total."""
    bills = tuple(bill for bill in batch if bill.bill_id in claimed)
    told_covered = tuple(bill for bill in bills if bill.bill_id in covered)
    return ReminderPlan(reminder, bills, reminder.superseded if bills else (), told_covered)
