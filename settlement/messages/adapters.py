"""Ports to the SMS gateway and the app-push service, and sandbox versions that record sends.

Adapters are factories over the caller's session (like the platforms in ``settlement.adapters``):
the sandbox ones write ``sandbox_messages`` in the dispatcher's transaction; a real gateway would
ignore the session. Nothing here logs a phone number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from credit.identity import mask_phone
from settlement.messages.tables import PUSH, SMS, SandboxMessage


class SmsGateway(Protocol):
    def send_sms(
        self, *, phone: str, psn_no: str, kind: str, body: str, outbox_id: int, now: datetime
    ) -> None:
        """Hand one text to the operator; raise on failure (the dispatcher retries)."""
        ...


class PushGateway(Protocol):
    def send_push(
        self,
        *,
        psn_no: str,
        kind: str,
        body: str,
        link: str | None,
        outbox_id: int,
        now: datetime,
    ) -> None:
        """Push one notice to the patient's app; raise on failure (the dispatcher retries)."""
        ...


class SandboxSmsGateway:
    """Records each text in ``sandbox_messages`` with the phone masked."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def send_sms(
        self, *, phone: str, psn_no: str, kind: str, body: str, outbox_id: int, now: datetime
    ) -> None:
        self.session.add(
            SandboxMessage(
                outbox_id=outbox_id,
                channel=SMS,
                psn_no=psn_no,
                address=mask_phone(phone),
                kind=kind,
                body=body,
                link=None,
                sent_at=now,
            )
        )


class SandboxPushGateway:
    """Records each push notice in ``sandbox_messages``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def send_push(
        self,
        *,
        psn_no: str,
        kind: str,
        body: str,
        link: str | None,
        outbox_id: int,
        now: datetime,
    ) -> None:
        self.session.add(
            SandboxMessage(
                outbox_id=outbox_id,
                channel=PUSH,
                psn_no=psn_no,
                address=f"app:{psn_no}",
                kind=kind,
                body=body,
                link=link,
                sent_at=now,
            )
        )
