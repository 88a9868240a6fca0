"""Errors of the credit service, with codes from the API contract where one exists."""

from __future__ import annotations


class CreditServiceError(Exception):
    """A refused credit use case: ``code`` is stable, ``status_hint`` the HTTP status to answer."""

    def __init__(self, code: str, message: str, status_hint: int = 403, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_hint = status_hint
        self.details = details

    def __repr__(self) -> str:
        return f"CreditServiceError({self.code!r}, {self.message!r}, {self.status_hint})"
