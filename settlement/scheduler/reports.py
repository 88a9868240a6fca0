"""What a sweep reports: how many items, which, and counts by outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class SweepReport:
    """What one sweep did: how many, and which bills (or visits)."""

    kind: str
    ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    #: When the longest-waiting item this run acted on fell due (its lag, for the metrics).
    due_since: datetime | None = None

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def items(self) -> int:
        """What it acted on: its ids, or for a sweep that only counts, the sum of its counts."""
        return self.count if self.ids else sum(self.counts.values())

    def fell_due(self, moment: datetime) -> None:
        """An item it acts on fell due at ``moment``."""
        if self.due_since is None or moment < self.due_since:
            self.due_since = moment

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"count": self.count, "ids": self.ids, **self.counts}
        if self.error:
            body["error"] = self.error
        return body
