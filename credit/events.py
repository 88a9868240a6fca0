"""Credit events: repayments and overdue bills move the line and the status.

The numbers (how many on-time bills earn a step, the step, how many overdue bills suspend and for
how long) are policy, read from ``seeds/credit/events.toml``; nothing here hard-codes them.

Status after any event, strongest first: ``not_eligible`` stays; a suspension still running →
``suspended``; an overdue bill unpaid → ``frozen``; otherwise ``active``.
"""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from credit.decision import Decision, Reason, RepaymentHistory, Status
from credit.scorecard import MAX_LINE, MAX_REASONS, MIN_LINE


class EventPolicyError(ValueError):
    """An events policy file that cannot be used."""

    def __init__(self, file: str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}")
        self.file = file
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EventPolicy:
    """Policy for credit events (*policy defaults* in ``seeds/credit/events.toml``)."""

    version: str
    on_time_bills_per_step: int
    step_yuan: int
    overdue_bills_to_suspend: int
    overdue_window_months: int
    suspension_months: int
    min_line: int = MIN_LINE
    max_line: int = MAX_LINE


def load_event_policy(path: Path) -> EventPolicy:
    """Read and check an events policy TOML file."""
    source = str(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise EventPolicyError(source, "(file)", str(error)) from None

    def number(key: str, *, low: int, high: int) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise EventPolicyError(source, key, f"must be an integer in [{low}, {high}]")
        return value

    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise EventPolicyError(source, "version", "a non-empty string is required")
    policy = EventPolicy(
        version=version.strip(),
        on_time_bills_per_step=number("on_time_bills_per_step", low=1, high=1000),
        step_yuan=number("step_yuan", low=1, high=MAX_LINE - MIN_LINE),
        overdue_bills_to_suspend=number("overdue_bills_to_suspend", low=1, high=1000),
        overdue_window_months=number("overdue_window_months", low=1, high=120),
        suspension_months=number("suspension_months", low=1, high=120),
        min_line=number("min_line", low=MIN_LINE, high=MAX_LINE),
        max_line=number("max_line", low=MIN_LINE, high=MAX_LINE),
    )
    if policy.min_line > policy.max_line:
        raise EventPolicyError(source, "min_line", "must not exceed max_line")
    return policy


@dataclass(frozen=True, slots=True)
class BillRepaidOnTime:
    bill_id: str
    kind: str = "bill_repaid_on_time"


@dataclass(frozen=True, slots=True)
class BillOverdue:
    bill_id: str
    kind: str = "bill_overdue"


@dataclass(frozen=True, slots=True)
class OverdueBillRepaid:
    bill_id: str
    kind: str = "overdue_bill_repaid"


CreditEvent = BillRepaidOnTime | BillOverdue | OverdueBillRepaid

STEP_UP_ON_TIME = Reason(
    "step_up_on_time", "按时还款，额度提升", "Bills repaid on time: line raised"
)
REPAID_ON_TIME = Reason("repaid_on_time", "账单按时还款", "Bill repaid on time")
FROZEN_OVERDUE = Reason("frozen_overdue", "账单逾期，额度冻结", "A bill is overdue: line frozen")
UNFROZEN_LOWER = Reason(
    "unfrozen_lower",
    "逾期账单已还，额度解冻并下调",
    "Overdue bill repaid: unfrozen at a lower line",
)
SUSPENDED_REPEAT = Reason(
    "suspended_repeat", "多次逾期，信用就医暂停", "Repeated overdue bills: credit care suspended"
)


#: Every reason an event gives; a decision's other reasons are the scorecard's (or a hard rule's).
EVENT_REASON_CODES = frozenset(
    r.code
    for r in (STEP_UP_ON_TIME, REPAID_ON_TIME, FROZEN_OVERDUE, UNFROZEN_LOWER, SUSPENDED_REPEAT)
)
#: How many of the events that moved the line a decision keeps after the scorecard's reasons.
EVENTS_SHOWN = MAX_REASONS


def scorecard_reasons(decision: Decision) -> tuple[Reason, ...]:
    """Why the line was set: the reasons of the scoring, whatever events followed."""
    return tuple(r for r in decision.reasons if r.code not in EVENT_REASON_CODES)


def event_reasons(decision: Decision) -> tuple[Reason, ...]:
    """The events that moved the line or the status since the scoring, oldest first."""
    return tuple(
        r
        for r in decision.reasons
        if r.code in EVENT_REASON_CODES and r.code != REPAID_ON_TIME.code
    )


def _explained(previous: Decision, moves: list[Reason]) -> tuple[Reason, ...]:
    """The scorecard's reasons first (the line is still theirs), then the latest moves.

    A repayment on time that moved nothing adds nothing: it is the decision's ``event``, and
    the line is still explained by the scoring and the moves before it.
    """
    return scorecard_reasons(previous) + (event_reasons(previous) + tuple(moves))[-EVENTS_SHOWN:]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def apply_event(
    previous: Decision,
    event: CreditEvent,
    *,
    policy: EventPolicy,
    history: RepaymentHistory,
    today: date,
) -> Decision:
    """The decision after ``event``; ``history`` is the repayment record *including* the event."""
    line = int(previous.line)
    suspended_until = previous.suspended_until
    reasons: list[Reason] = []

    if isinstance(event, BillRepaidOnTime):
        streak = history.on_time_streak
        earned_step = streak > 0 and streak % policy.on_time_bills_per_step == 0
        if previous.status == "active" and earned_step and line < policy.max_line:
            line = min(line + policy.step_yuan, policy.max_line)
            reasons.append(STEP_UP_ON_TIME)
    elif isinstance(event, BillOverdue):
        reasons.append(FROZEN_OVERDUE)
        if history.overdue_count_12m >= policy.overdue_bills_to_suspend:
            until = add_months(today, policy.suspension_months)
            suspended_until = until if suspended_until is None else max(suspended_until, until)
            reasons.append(SUSPENDED_REPEAT)
    else:
        if previous.status != "not_eligible":
            line = max(line - policy.step_yuan, policy.min_line)
        reasons.append(UNFROZEN_LOWER)

    status: Status
    if previous.status in ("not_eligible", "not_signed"):
        status = previous.status
    elif suspended_until is not None and today < suspended_until:
        status = "suspended"
    elif history.overdue_unpaid > 0:
        status = "frozen"
    else:
        status = "active"
    return previous.with_changes(
        status=status,
        line=Decimal(line),
        reasons=_explained(previous, reasons),
        as_of=today,
        event=event.kind,
        suspended_until=suspended_until,
        overdue_unpaid=history.overdue_unpaid,
        inputs={**previous.inputs, "history": history.as_dict(), "event_bill_id": event.bill_id},
    )
