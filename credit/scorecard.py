"""The scorecard: attributes, bins and points, and the mapping from a score to a credit line.

A scorecard is configuration (``seeds/credit/scorecard.toml``), versioned, and checked when it is
loaded so that scoring itself never meets a malformed card: bins of a numeric attribute cover
``[0, ∞)`` without gaps or overlaps, points never fall as an attribute improves, and the line
mapping stays inside [600, 1000] yuan. Attributes about sex, ethnicity or place of origin are
refused by name.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from insurance.money import parse_decimal

#: The scheme's bounds for a credit line, in yuan (domain §3).
MIN_LINE = 600
MAX_LINE = 1000
#: The issue allows at most four reasons per decision.
MAX_REASONS = 4

#: Words that must never name a scoring attribute (protected characteristics).
FORBIDDEN_WORDS = (
    "sex",
    "gender",
    "ethnic",
    "nation",
    "origin",
    "birthplace",
    "hukou",
    "race",
    "religion",
    "minzu",
    "jiguan",
)

AttributeKind = Literal["category", "range"]
Better = Literal["higher", "lower"]

#: The attributes the scorer knows how to read from :class:`credit.decision.CreditInputs`, with
#: the kind of bins each takes.
KNOWN_ATTRIBUTES: Mapping[str, AttributeKind] = {
    "credit_rating": "category",
    "psn_type": "category",
    "contribution_months": "range",
    "bills_on_time": "range",
    "bills_late": "range",
    "max_days_late": "range",
}


class ScorecardError(ValueError):
    """A scorecard file that cannot be used: names the file, the field and what is wrong."""

    def __init__(self, file: str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}")
        self.file = file
        self.field = field
        self.reason = reason


class UnknownValueError(ValueError):
    """An input value the scorecard has no bin for (for example an unknown credit rating)."""

    def __init__(self, attribute: str, value: object) -> None:
        super().__init__(f"unknown {attribute} value {value!r}")
        self.code = f"unknown_{attribute}"
        self.attribute = attribute
        self.value = value


@dataclass(frozen=True, slots=True)
class Bin:
    """One bin: a category ``value``, or the half-open range ``[lower, upper)``."""

    points: int
    value: str | None = None
    lower: int | None = None
    upper: int | None = None  # None: no upper bound

    def contains(self, value: object) -> bool:
        if self.value is not None:
            return value == self.value
        assert isinstance(value, int) and self.lower is not None
        return self.lower <= value and (self.upper is None or value < self.upper)


@dataclass(frozen=True, slots=True)
class Attribute:
    """A scoring attribute with its bins and the reason shown when it costs points."""

    name: str
    kind: AttributeKind
    bins: tuple[Bin, ...]
    reason_code: str
    reason_zh: str
    reason_en: str
    better: Better = "higher"
    #: The points of the best bin, against which a reason's lost points are counted.
    best_points: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "best_points", max(b.points for b in self.bins))

    def points_for(self, value: object) -> int:
        """The points ``value`` earns. Raises :class:`UnknownValueError` if no bin holds it."""
        if self.kind == "range" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise UnknownValueError(self.name, value)
        for candidate in self.bins:
            if candidate.contains(value):
                return candidate.points
        raise UnknownValueError(self.name, value)


@dataclass(frozen=True, slots=True)
class LineMapping:
    """``line = min_line + (score - score_at_min_line) × yuan_per_point``, clamped to
    ``[min_line, max_line]`` and rounded down to a multiple of ``step``: monotone in the score."""

    min_line: int
    max_line: int
    step: int
    score_at_min_line: int
    yuan_per_point: Decimal

    def line_for(self, score: int) -> int:
        raw = Decimal(self.min_line) + (score - self.score_at_min_line) * self.yuan_per_point
        clamped = min(max(raw, Decimal(self.min_line)), Decimal(self.max_line))
        return int(clamped // self.step) * self.step


@dataclass(frozen=True, slots=True)
class Scorecard:
    version: str
    base_points: int
    attributes: tuple[Attribute, ...]
    line: LineMapping
    max_reasons: int = MAX_REASONS

    def attribute(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        raise KeyError(name)


# --- loading -------------------------------------------------------------------------------------


def load_scorecard(path: Path) -> Scorecard:
    """Read and check a scorecard TOML file. Raises :class:`ScorecardError` naming the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScorecardError(str(path), "(file)", str(error)) from None
    return parse_scorecard(data, source=str(path))


def parse_scorecard(data: Mapping[str, Any], *, source: str = "<scorecard>") -> Scorecard:
    """Build a :class:`Scorecard` from parsed TOML, checking every rule the module promises."""

    def fail(field: str, reason: str) -> ScorecardError:
        return ScorecardError(source, field, reason)

    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise fail("version", "a non-empty string is required")
    base_points = _int(data.get("base_points", 0), "base_points", fail)
    max_reasons = _int(data.get("max_reasons", MAX_REASONS), "max_reasons", fail)
    if not 1 <= max_reasons <= MAX_REASONS:
        raise fail("max_reasons", f"must be between 1 and {MAX_REASONS}")
    line = _parse_line(data.get("line"), fail)

    raw_attributes = data.get("attributes")
    if not isinstance(raw_attributes, list) or not raw_attributes:
        raise fail("attributes", "at least one [[attributes]] table is required")
    attributes: list[Attribute] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_attributes):
        attribute = _parse_attribute(raw, f"attributes[{index}]", fail)
        if attribute.name in seen:
            raise fail(f"attributes[{index}].name", f"{attribute.name!r} appears twice")
        seen.add(attribute.name)
        attributes.append(attribute)
    return Scorecard(
        version=version.strip(),
        base_points=base_points,
        attributes=tuple(attributes),
        line=line,
        max_reasons=max_reasons,
    )


def _int(value: object, field: str, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(field, f"must be an integer, not {value!r}")
    return value


def _parse_line(raw: object, fail: Any) -> LineMapping:
    if not isinstance(raw, dict):
        raise fail("line", "a [line] table is required")
    min_line = _int(raw.get("min"), "line.min", fail)
    max_line = _int(raw.get("max"), "line.max", fail)
    step = _int(raw.get("step", 50), "line.step", fail)
    score_at_min = _int(raw.get("score_at_min_line"), "line.score_at_min_line", fail)
    for field, value in (("line.min", min_line), ("line.max", max_line)):
        if not MIN_LINE <= value <= MAX_LINE:
            raise fail(field, f"{value} is outside [{MIN_LINE}, {MAX_LINE}] yuan")
    if min_line > max_line:
        raise fail("line.min", "must not exceed line.max")
    if step <= 0 or min_line % step or max_line % step:
        raise fail("line.step", "must be positive and divide line.min and line.max")
    per_point = raw.get("yuan_per_point")
    try:
        # A string, so the file never carries a binary fraction; no rounding either way.
        yuan_per_point = parse_decimal(per_point, places=4, maximum=None, name="yuan_per_point")
    except (ValueError, InvalidOperation) as error:
        raise fail("line.yuan_per_point", str(error)) from None
    if yuan_per_point <= 0:
        raise fail("line.yuan_per_point", "must be greater than zero (the line rises with score)")
    return LineMapping(min_line, max_line, step, score_at_min, yuan_per_point)


def _parse_attribute(raw: object, where: str, fail: Any) -> Attribute:
    if not isinstance(raw, dict):
        raise fail(where, "must be a table")
    name, kind = _attribute_name(raw.get("name"), where, fail)
    texts = {}
    for key in ("reason_code", "reason_zh", "reason_en"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{where}.{key}", "a non-empty string is required")
        texts[key] = value.strip()
    better = raw.get("better", "higher")
    if better not in ("higher", "lower"):
        raise fail(f"{where}.better", "must be 'higher' or 'lower'")
    raw_bins = raw.get("bins")
    if not isinstance(raw_bins, list) or not raw_bins:
        raise fail(f"{where}.bins", "at least one bin is required")
    if kind == "category":
        bins = _category_bins(raw_bins, f"{where}.bins", fail)
    else:
        bins = _range_bins(raw_bins, f"{where}.bins", better, fail)
    return Attribute(
        name=name,
        kind=kind,
        bins=bins,
        reason_code=texts["reason_code"],
        reason_zh=texts["reason_zh"],
        reason_en=texts["reason_en"],
        better=better,
    )


def _attribute_name(name: object, where: str, fail: Any) -> tuple[str, AttributeKind]:
    """A known attribute's name and kind; protected characteristics never score."""
    if not isinstance(name, str) or not name:
        raise fail(f"{where}.name", "a name is required")
    lowered = name.lower()
    for word in FORBIDDEN_WORDS:
        if word in lowered:
            raise fail(f"{where}.name", f"{name!r} is a protected characteristic and may not score")
    kind = KNOWN_ATTRIBUTES.get(name)
    if kind is None:
        known = ", ".join(sorted(KNOWN_ATTRIBUTES))
        raise fail(f"{where}.name", f"unknown attribute {name!r} (known: {known})")
    return name, kind


def _category_bins(raw_bins: list[Any], where: str, fail: Any) -> tuple[Bin, ...]:
    """Category bins are listed best first, so their points must never rise down the list."""
    bins: list[Bin] = []
    for index, raw in enumerate(raw_bins):
        field = f"{where}[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("value"), str):
            raise fail(field, "a category bin needs a string 'value' and 'points'")
        points = _int(raw.get("points"), f"{field}.points", fail)
        if any(b.value == raw["value"] for b in bins):
            raise fail(f"{field}.value", f"{raw['value']!r} overlaps an earlier bin")
        if bins and points > bins[-1].points:
            raise fail(
                f"{field}.points", "category bins are listed best first: points may not rise"
            )
        bins.append(Bin(points=points, value=raw["value"]))
    return tuple(bins)


def _range_bins(raw_bins: list[Any], where: str, better: Better, fail: Any) -> tuple[Bin, ...]:
    """Range bins ``[lower, upper)`` in order, starting at 0, touching, the last one open."""
    bins: list[Bin] = []
    for index, raw in enumerate(raw_bins):
        field = f"{where}[{index}]"
        if not isinstance(raw, dict):
            raise fail(field, "a range bin needs 'lower', optional 'upper' and 'points'")
        lower = _int(raw.get("lower"), f"{field}.lower", fail)
        upper_raw = raw.get("upper")
        upper = None if upper_raw is None else _int(upper_raw, f"{field}.upper", fail)
        points = _int(raw.get("points"), f"{field}.points", fail)
        if upper is not None and upper <= lower:
            raise fail(f"{field}.upper", f"must be greater than lower ({lower})")
        expected = 0 if not bins else bins[-1].upper
        if expected is None:
            raise fail(field, "an earlier bin has no upper bound, so this one overlaps it")
        if lower < expected:
            raise fail(f"{field}.lower", f"overlaps the previous bin (which ends at {expected})")
        if lower > expected:
            raise fail(f"{field}.lower", f"leaves a gap: values from {expected} have no bin")
        if bins and (points < bins[-1].points if better == "higher" else points > bins[-1].points):
            direction = "rise" if better == "higher" else "fall"
            raise fail(f"{field}.points", f"points must {direction} (or stay) along the bins")
        bins.append(Bin(points=points, lower=lower, upper=upper))
    if bins[-1].upper is not None:
        raise fail(f"{where}[{len(bins) - 1}].upper", "the last bin must be open (no upper)")
    return tuple(bins)
