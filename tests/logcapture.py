"""Logs captured as the service writes them: through its formatter (``api.logs``), as JSON."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from api.logs import build_formatter, route_structlog_through_logging


class JsonLogs:
    """Every log line written inside the ``with`` block, formatted as in production."""

    def __init__(self, level: int = logging.DEBUG) -> None:
        self.level = level
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(build_formatter())
        self._old_level = logging.NOTSET

    def __enter__(self) -> JsonLogs:
        route_structlog_through_logging()
        root = logging.getLogger()
        self._old_level = root.level
        root.addHandler(self.handler)
        root.setLevel(self.level)
        return self

    def __exit__(self, *_: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self._old_level)

    def text(self) -> str:
        return self.stream.getvalue()

    def mark(self) -> int:
        """Where the log is now; :meth:`since` reads what came after."""
        return len(self.stream.getvalue())

    def since(self, mark: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue()[mark:].splitlines()]

    def lines(self) -> list[dict[str, Any]]:
        return self.since(0)
