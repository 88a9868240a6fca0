"""Regional insurance policy: versioned parameters of the split, loaded from TOML files.

A policy file (``seeds/policies/*.toml``) holds one version of one region's rules::

    region_code = "371400"
    version = "2026.1"
    effective_from = 2026-01-01
    effective_to = 2026-12-31            # optional, inclusive; absent means open-ended
    policy_year_start_month = 1          # optional; the policy year starts on the 1st of this month
    deductible = "200.00"
    class_b_selfpay_prop = "0.10"
    acct_payable_parts = ["fulamt_ownpay", "overlmt_selfpay", "preselfpay", "inscp_selfpay"]
    mutual_aid_relations = ["spouse", "parent", "child"]
    settlement_mode = "repayment"        # optional; or "visit_end" (``insurance.modes``)

    [pooled_ratio.level_1]
    "11" = "0.70"
    "12" = "0.75"
    # ... level_2 and level_3 likewise

    [annual_pooled_cap]
    "11" = "2000.00"
    "12" = "2500.00"

Amounts and ratios are strings, parsed by :mod:`insurance.money` (a TOML float would be binary).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from insurance.errors import (
    InsuranceError,
    NoPolicyInForceError,
    PolicyError,
    UnknownHospitalLevelError,
    UnknownPersonTypeError,
)
from insurance.values import parse_money, parse_ratio

HOSPITAL_LEVELS = (1, 2, 3)
PSN_TYPES = ("11", "12")
#: The parts of the personal share (``psn_part_amt``) a personal account may be allowed to pay.
ACCT_PARTS = frozenset({"fulamt_ownpay", "overlmt_selfpay", "preselfpay", "inscp_selfpay"})
#: Relations a family manager can declare; a policy allows some of them for mutual aid.
RELATIONS = frozenset({"spouse", "parent", "child", "other"})
#: When the pooled fund's share is settled (``insurance.modes``): at the patient's repayment
#: (Dezhou's 舒心就医, the default) or at the end of the visit (the national 信用就医 model).
SETTLEMENT_MODES = ("repayment", "visit_end")

_KEYS = frozenset(
    {
        "region_code",
        "region_name",
        "version",
        "effective_from",
        "effective_to",
        "policy_year_start_month",
        "deductible",
        "class_b_selfpay_prop",
        "acct_payable_parts",
        "mutual_aid_relations",
        "pooled_ratio",
        "annual_pooled_cap",
        "settlement_mode",
    }
)


@dataclass(frozen=True, slots=True)
class Policy:
    """One version of a region's rules, in force from ``effective_from`` to ``effective_to``."""

    region_code: str
    version: str
    effective_from: date
    effective_to: date | None  # inclusive; None means open-ended
    deductible: Decimal
    #: level (1, 2, 3) -> psn_type ("11", "12") -> pooled ratio in [0, 1]
    pooled_ratio: Mapping[int, Mapping[str, Decimal]]
    #: psn_type -> pooled fund cap per policy year
    annual_pooled_cap: Mapping[str, Decimal]
    class_b_selfpay_prop: Decimal
    acct_payable_parts: frozenset[str]
    mutual_aid_relations: frozenset[str]
    policy_year_start_month: int = 1
    region_name: str = ""
    source: str = ""
    #: ``repayment`` (everything settles when the patient repays) or ``visit_end`` (the pooled
    #: fund's share settles when the visit closes; only the personal part stays on credit).
    settlement_mode: str = "repayment"

    def in_force(self, on: date) -> bool:
        """Whether this version covers the date ``on``."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def policy_year(self, on: date) -> int:
        """The policy year a visit on ``on`` counts against (named by the year it starts in)."""
        return on.year if on.month >= self.policy_year_start_month else on.year - 1

    def ratio(self, hospital_level: int, psn_type: str) -> Decimal:
        """The pooled ratio for a hospital level and person type; refuses unknown ones."""
        by_type = self.pooled_ratio.get(hospital_level) if type(hospital_level) is int else None
        if by_type is None:
            raise UnknownHospitalLevelError(
                f"hospital_level must be one of {sorted(self.pooled_ratio)}: {hospital_level!r}",
                field="hospital_level",
            )
        ratio = by_type.get(psn_type)
        if ratio is None:
            raise UnknownPersonTypeError(
                f"psn_type must be one of {sorted(by_type)}: {psn_type!r}", field="psn_type"
            )
        return ratio

    def cap(self, psn_type: str) -> Decimal:
        """The annual pooled cap for a person type; refuses unknown ones."""
        cap = self.annual_pooled_cap.get(psn_type)
        if cap is None:
            raise UnknownPersonTypeError(
                f"psn_type must be one of {sorted(self.annual_pooled_cap)}: {psn_type!r}",
                field="psn_type",
            )
        return cap

    def describe(self) -> str:
        """``371400 v2026.1 (2026-01-01 – open)``, for messages."""
        end = self.effective_to.isoformat() if self.effective_to else "open"
        return f"{self.region_code} v{self.version} ({self.effective_from.isoformat()} – {end})"


class PolicyBook:
    """Several policy versions, possibly of several regions; picks the one in force on a date."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._policies = sorted(policies, key=lambda p: (p.region_code, p.effective_from))
        _refuse_overlaps(self._policies)

    @property
    def policies(self) -> tuple[Policy, ...]:
        return tuple(self._policies)

    def regions(self) -> list[str]:
        return sorted({p.region_code for p in self._policies})

    def in_force(self, on: date, *, region_code: str | None = None) -> Policy:
        """The version in force on ``on`` (in ``region_code`` when the book has several regions).

        Raises:
            NoPolicyInForceError: no version covers the date, or the region is ambiguous or unknown.
        """
        candidates = [
            p
            for p in self._policies
            if p.in_force(on) and (region_code is None or p.region_code == region_code)
        ]
        if len(candidates) == 1:
            return candidates[0]
        where = f" in region {region_code}" if region_code else ""
        if not candidates:
            raise NoPolicyInForceError(
                f"no insurance policy is in force on {on.isoformat()}{where}", field="visit_date"
            )
        raise NoPolicyInForceError(
            f"several regions have a policy in force on {on.isoformat()}: name the region_code",
            field="region_code",
        )


def _refuse_overlaps(policies: list[Policy]) -> None:
    """``policies`` sorted by region then start; refuses two versions of a region that overlap."""
    for earlier, later in pairwise(policies):
        if earlier.region_code != later.region_code:
            continue
        if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
            raise PolicyError(
                later.source or later.region_code,
                "effective_from",
                f"{later.describe()} overlaps {earlier.describe()}"
                + (f" from {earlier.source}" if earlier.source else ""),
            )


def load_policy_file(path: Path) -> Policy:
    """Load and validate one policy file.

    Raises:
        PolicyError: naming the file, the field and the reason.
    """
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PolicyError(path, "(file)", str(error)) from None
    return parse_policy(data, source=str(path))


def parse_policy(data: Mapping[str, Any], *, source: str) -> Policy:
    """Validate the contents of a policy file (as read by ``tomllib``) into a :class:`Policy`."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise PolicyError(source, unknown[0], "unknown setting (a typo?)")
    read = _PolicyReader(data, source)
    effective_from, effective_to = read.period()
    return Policy(
        region_code=read.text("region_code"),
        region_name=str(data.get("region_name", "")),
        version=read.text("version"),
        effective_from=effective_from,
        effective_to=effective_to,
        deductible=read.money("deductible", read.need("deductible")),
        pooled_ratio=read.pooled_ratio(),
        annual_pooled_cap=read.annual_pooled_cap(),
        class_b_selfpay_prop=read.ratio("class_b_selfpay_prop", read.need("class_b_selfpay_prop")),
        acct_payable_parts=read.names("acct_payable_parts", ACCT_PARTS),
        mutual_aid_relations=read.names("mutual_aid_relations", RELATIONS),
        policy_year_start_month=read.start_month(),
        source=source,
        settlement_mode=read.settlement_mode(),
    )


class _PolicyReader:
    """Reads one policy file's settings, each refusal naming the file, the key and the reason."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def need(self, key: str) -> Any:
        if key not in self.data:
            raise PolicyError(self.source, key, "missing")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self.need(key)
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(self.source, key, "must be a non-empty string")
        return value.strip()

    def a_date(self, key: str, value: object) -> date:
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise PolicyError(self.source, key, f"must be a date (YYYY-MM-DD), not {value!r}")

    def money(self, key: str, value: object) -> Decimal:
        try:
            return parse_money(value, name=key)
        except InsuranceError as error:
            raise PolicyError(self.source, key, error.message) from None

    def ratio(self, key: str, value: object) -> Decimal:
        try:
            return parse_ratio(value, name=key)
        except InsuranceError as error:
            message = f"must be a ratio in [0, 1]: {error.message}"
            raise PolicyError(self.source, key, message) from None

    def names(self, key: str, allowed: frozenset[str]) -> frozenset[str]:
        value = self.need(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PolicyError(self.source, key, "must be a list of strings")
        wrong = sorted(set(value) - allowed)
        if wrong:
            raise PolicyError(self.source, key, f"unknown {wrong}; allowed: {sorted(allowed)}")
        return frozenset(value)

    def period(self) -> tuple[date, date | None]:
        effective_from = self.a_date("effective_from", self.need("effective_from"))
        effective_to = (
            self.a_date("effective_to", self.data["effective_to"])
            if "effective_to" in self.data
            else None
        )
        if effective_to is not None and effective_to < effective_from:
            raise PolicyError(self.source, "effective_to", "is before effective_from")
        return effective_from, effective_to

    def start_month(self) -> int:
        start_month = self.data.get("policy_year_start_month", 1)
        if type(start_month) is not int or not 1 <= start_month <= 12:
            raise PolicyError(self.source, "policy_year_start_month", "must be a month number 1-12")
        return start_month

    def settlement_mode(self) -> str:
        mode = self.data.get("settlement_mode", SETTLEMENT_MODES[0])
        if mode not in SETTLEMENT_MODES:
            raise PolicyError(
                self.source, "settlement_mode", f"must be one of {list(SETTLEMENT_MODES)}: {mode!r}"
            )
        return str(mode)

    def pooled_ratio(self) -> dict[int, dict[str, Decimal]]:
        table = self.need("pooled_ratio")
        if not isinstance(table, dict):
            raise PolicyError(
                self.source, "pooled_ratio", "must be a table of level_1, level_2, level_3"
            )
        extra_levels = sorted(set(table) - {f"level_{level}" for level in HOSPITAL_LEVELS})
        if extra_levels:
            raise PolicyError(
                self.source, f"pooled_ratio.{extra_levels[0]}", "unknown hospital level"
            )
        pooled: dict[int, dict[str, Decimal]] = {}
        for level in HOSPITAL_LEVELS:
            key = f"pooled_ratio.level_{level}"
            row = table.get(f"level_{level}")
            if row is None:
                raise PolicyError(
                    self.source, key, "missing (every hospital level 1, 2, 3 needs ratios)"
                )
            if not isinstance(row, dict):
                raise PolicyError(self.source, key, "must be a table of person type to ratio")
            pooled[level] = _by_psn_type(self.source, key, row, self.ratio)
        return pooled

    def annual_pooled_cap(self) -> dict[str, Decimal]:
        caps = self.need("annual_pooled_cap")
        if not isinstance(caps, dict):
            raise PolicyError(
                self.source, "annual_pooled_cap", "must be a table of person type to amount"
            )
        return _by_psn_type(self.source, "annual_pooled_cap", caps, self.money)


def _by_psn_type(
    source: str, key: str, row: Mapping[str, object], parse: Callable[[str, object], Decimal]
) -> dict[str, Decimal]:
    missing = [psn_type for psn_type in PSN_TYPES if psn_type not in row]
    if missing:
        raise PolicyError(source, f"{key}.{missing[0]}", "missing (person types 11 and 12)")
    extra = sorted(set(row) - set(PSN_TYPES))
    if extra:
        raise PolicyError(source, f"{key}.{extra[0]}", "unknown person type")
    return {psn_type: parse(f"{key}.{psn_type}", row[psn_type]) for psn_type in PSN_TYPES}


def load_policies(folder: Path) -> PolicyBook:
    """Load every ``*.toml`` in ``folder`` (or one file) into a :class:`PolicyBook`.

    Raises:
        PolicyError: a file is invalid, there is none, or two versions of a region overlap.
    """
    files = [folder] if folder.is_file() else sorted(folder.glob("*.toml"))
    if not files:
        raise PolicyError(folder, "(folder)", "holds no *.toml policy file")
    return PolicyBook(load_policy_file(path) for path in files)


def default_policy_folder() -> Path:
    """The repository's demo policies: ``seeds/policies``."""
    return Path(__file__).resolve().parent.parent / "seeds" / "policies"
