"""The service layer's refusal: a stable code, a human message and optional details.

The API turns ``code`` into an HTTP status (see ``api.errors``); nothing below the API knows HTTP.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A business refusal with a stable ``code`` (``insufficient_credit``, ``visit_closed``, …)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
