"""How a login code reaches the phone: a port, and a default that only records that it was sent."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session

from settlement.access.directory import mask_phone

logger = logging.getLogger("shuxin.access")


class CodeSender(Protocol):
    def send_login_code(
        self, session: Session, *, psn_no: str, phone: str, code: str, expires_in: int
    ) -> None:
        """Queue the code for the phone, in the caller's transaction (an outbox row, say)."""
        ...


class LoggingCodeSender:
    """Logs that a code went out (masked phone, never the code) until SMS is wired."""

    def send_login_code(
        self, session: Session, *, psn_no: str, phone: str, code: str, expires_in: int
    ) -> None:
        logger.info("login code issued for %s, valid %d s", mask_phone(phone), expires_in)


def default_code_sender() -> CodeSender:
    """The sender the API uses unless overridden (the lead wires the message outbox here)."""
    return LoggingCodeSender()
