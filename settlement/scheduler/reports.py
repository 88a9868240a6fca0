"""What a sweep reports: how many items, which, and counts by outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SweepReport:
    """What one sweep did: how many, and which bills (or visits)."""

    kind: str
    ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def count(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"count": self.count, "ids": self.ids, **self.counts}
        if self.error:
            body["error"] = self.error
        return body
