"""Errors of the credit service, with codes from the API contract where one exists."""

from __future__ import annotations


class CreditServiceError(Exception):
    """A refused credit use case: ``code`` is stable (the API answers it with its status)."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"CreditServiceError({self.code!r}, {self.message!r})"
