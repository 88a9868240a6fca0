"""How a login code reaches the phone: the port (the message outbox implements it)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session


class CodeSender(Protocol):
    def send_login_code(
        self,
        session: Session,
        *,
        psn_no: str,
        phone: str,
        code: str,
        code_salt: str,
        expires_in: int,
    ) -> None:
        """Queue the code for the phone, in the caller's transaction (an outbox row, say);
        what is stored must not hold the code itself (``code_salt`` renders it again)."""
        ...
