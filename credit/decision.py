"""Credit decisions: hard eligibility rules first, then the scorecard, with reasons.

``decide`` is a pure function of its inputs, the scorecard and the day: the same three always give
the same :class:`Decision`, which carries everything needed to show a patient why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from credit.scorecard import MAX_REASONS, Scorecard
from insurance.money import to_fen

Status = Literal["active", "frozen", "not_eligible", "suspended", "not_signed"]

EMPLOYEE_INSURANCE = "310"
RATINGS = ("A", "B", "C", "D")
PSN_TYPES = ("11", "12")


class CreditInputError(ValueError):
    """Inputs that cannot be scored; ``code`` is stable (``unknown_rating``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class RepaymentHistory:
    """This scheme's own record of a patient's bills, computed from the bills by the caller.

    Attributes:
        bills_on_time: bills repaid within the window, ever.
        bills_late: bills repaid after the deadline, ever.
        max_days_late: the most whole days any bill was repaid after its deadline (0 if never).
        overdue_unpaid: bills past the deadline and still unpaid now.
        overdue_count_12m: bills that went overdue in the last 12 months (repaid or not).
        on_time_streak: bills repaid on time since the last bill that was late or overdue.
    """

    bills_on_time: int = 0
    bills_late: int = 0
    max_days_late: int = 0
    overdue_unpaid: int = 0
    overdue_count_12m: int = 0
    on_time_streak: int = 0

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CreditInputError("invalid_history", f"{name} must be a whole number ≥ 0")

    def as_dict(self) -> dict[str, int]:
        # Explicit rather than dataclasses.asdict, which deep-copies and dominates scoring time.
        return {
            "bills_on_time": self.bills_on_time,
            "bills_late": self.bills_late,
            "max_days_late": self.max_days_late,
            "overdue_unpaid": self.overdue_unpaid,
            "overdue_count_12m": self.overdue_count_12m,
            "on_time_streak": self.on_time_streak,
        }


@dataclass(frozen=True, slots=True)
class CreditInputs:
    """Everything a decision looks at. No sex, ethnicity or place of origin, by design."""

    insutype: str
    insured_active: bool
    dishonest: bool
    rating: str
    contribution_months: int
    psn_type: str
    is_adult: bool = True
    has_family_manager: bool = False
    history: RepaymentHistory = field(default_factory=RepaymentHistory)
    suspended_until: date | None = None

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise CreditInputError(
                "unknown_rating",
                f"unknown public credit rating {self.rating!r}: "
                f"expected one of {', '.join(RATINGS)}",
            )
        if self.psn_type not in PSN_TYPES:
            raise CreditInputError("unknown_psn_type", f"unknown psn_type {self.psn_type!r}")
        months = self.contribution_months
        if isinstance(months, bool) or not isinstance(months, int) or months < 0:
            raise CreditInputError("invalid_contribution_months", "must be a whole number ≥ 0")

    def value_of(self, attribute: str) -> object:
        """The value a scorecard attribute reads."""
        if attribute == "credit_rating":
            return self.rating
        if attribute in ("psn_type", "contribution_months"):
            return getattr(self, attribute)
        return getattr(self.history, attribute)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy, stored with the decision."""
        return {
            "insutype": self.insutype,
            "insured_active": self.insured_active,
            "dishonest": self.dishonest,
            "rating": self.rating,
            "contribution_months": self.contribution_months,
            "psn_type": self.psn_type,
            "is_adult": self.is_adult,
            "has_family_manager": self.has_family_manager,
            "history": self.history.as_dict(),
            "suspended_until": self.suspended_until.isoformat() if self.suspended_until else None,
        }


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a stable code, a sentence in Chinese and in English, and the points it cost."""

    code: str
    zh: str
    en: str
    points_lost: int = 0
    attribute: str | None = None


@dataclass(frozen=True)
class Decision:
    """A credit decision as it is recorded: status, line (whole yuan), score and reasons."""

    status: Status
    line: Decimal
    score: int | None
    reasons: tuple[Reason, ...]
    scorecard_version: str
    inputs: Mapping[str, Any]
    as_of: date
    event: str = "scored"
    suspended_until: date | None = None
    overdue_unpaid: int = 0

    @property
    def line_fen(self) -> int:
        return to_fen(self.line)

    def status_on(self, today: date) -> Status:
        """The status on ``today``: a suspension that has run out no longer applies."""
        if self.status == "suspended" and self.suspended_until and today >= self.suspended_until:
            return "frozen" if self.overdue_unpaid else "active"
        return self.status

    def with_changes(self, **changes: Any) -> Decision:
        return replace(self, **changes)


# Hard-rule reasons: stable codes with their sentences.
NOT_EMPLOYEE_INSURANCE = Reason(
    "not_employee_insurance",
    "未参加职工基本医疗保险",
    "Not insured under employee medical insurance",
)
INSURANCE_INACTIVE = Reason("insurance_inactive", "医保参保状态非正常", "Insurance is not active")
DISHONEST_DEBTOR = Reason(
    "dishonest_debtor", "被列入失信被执行人名单", "On the list of dishonest judgment debtors"
)
MINOR_WITHOUT_MANAGER = Reason(
    "minor_without_manager", "未成年且无亲情账号管理人", "Under 18 with no family manager"
)
OVERDUE_UNPAID = Reason("overdue_unpaid", "有逾期未还账单", "An overdue bill is unpaid")
SUSPENDED = Reason("suspended", "信用就医资格暂停中", "Credit care is suspended for a period")


def score_inputs(inputs: CreditInputs, scorecard: Scorecard) -> tuple[int, tuple[Reason, ...]]:
    """The score, and up to ``max_reasons`` attributes that lost the most points (ties: card order).

    Raises:
        UnknownValueError: an input value with no bin in the scorecard.
    """
    score = scorecard.base_points
    losses: list[tuple[int, int, Reason]] = []
    for order, attribute in enumerate(scorecard.attributes):
        points = attribute.points_for(inputs.value_of(attribute.name))
        score += points
        lost = attribute.best_points - points
        if lost > 0:
            reason = Reason(
                attribute.reason_code,
                attribute.reason_zh,
                attribute.reason_en,
                lost,
                attribute.name,
            )
            losses.append((-lost, order, reason))
    losses.sort(key=lambda item: (item[0], item[1]))
    return score, tuple(reason for _, _, reason in losses[: scorecard.max_reasons])


def ineligibility(*, insutype: str, insured_active: bool, dishonest: bool) -> tuple[Reason, ...]:
    """Why the insurance and credit platforms' records exclude the person from credit care, if
    they do: no signature or score overcomes these (a minor's missing manager can be remedied,
    so it is not among them)."""
    refusals = []
    if insutype != EMPLOYEE_INSURANCE:
        refusals.append(NOT_EMPLOYEE_INSURANCE)
    if not insured_active:
        refusals.append(INSURANCE_INACTIVE)
    if dishonest:
        refusals.append(DISHONEST_DEBTOR)
    return tuple(refusals)


def decide(inputs: CreditInputs, scorecard: Scorecard, *, today: date) -> Decision:
    """Hard rules first (not eligible, suspended, frozen), then the scorecard."""
    common: dict[str, Any] = {
        "scorecard_version": scorecard.version,
        "inputs": inputs.snapshot(),
        "as_of": today,
        "suspended_until": inputs.suspended_until,
        "overdue_unpaid": inputs.history.overdue_unpaid,
    }
    refusals = list(
        ineligibility(
            insutype=inputs.insutype,
            insured_active=inputs.insured_active,
            dishonest=inputs.dishonest,
        )
    )
    if not inputs.is_adult and not inputs.has_family_manager:
        refusals.append(MINOR_WITHOUT_MANAGER)
    if refusals:
        return Decision("not_eligible", Decimal(0), None, tuple(refusals), **common)

    score, reasons = score_inputs(inputs, scorecard)
    line = Decimal(scorecard.line.line_for(score))
    # Frozen and suspended patients keep a line on record; they just cannot use it.
    if inputs.suspended_until is not None and today < inputs.suspended_until:
        return Decision("suspended", line, score, (SUSPENDED, *reasons)[:MAX_REASONS], **common)
    if inputs.history.overdue_unpaid > 0:
        return Decision("frozen", line, score, (OVERDUE_UNPAID, *reasons)[:MAX_REASONS], **common)
    return Decision("active", line, score, reasons, **common)
