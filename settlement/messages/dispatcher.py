"""The dispatcher: sends pending outbox messages through the SMS and app-push adapters.

Each batch is its own transaction; on PostgreSQL the batch is taken with ``FOR UPDATE SKIP
LOCKED`` so two dispatchers never send the same row. Delivery is at least once: a crash after the
gateway accepted a message and before the commit sends it again on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.identity import mask_psn_no
from settlement.foundation.codes import login_code
from settlement.foundation.config import Settings
from settlement.foundation.ports import InsurancePlatform
from settlement.foundation.sweep_failures import record_failure
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.messages.adapters import PushGateway, SmsGateway
from settlement.messages.tables import FAILED, PUSH, SENT, SMS, OutboxMessage
from settlement.messages.templates import CODE_MASK

logger = logging.getLogger("shuxin.messages")

#: After this many failed sends a message is marked ``failed`` and left for an operator.
MAX_SEND_ATTEMPTS = 5
DISPATCH_BATCH = 200


class DispatchContext(Protocol):
    """What sending uses: the settings (the codes' key), the phone book and the gateways, and
    transactions of its own (the process's ``Container`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...

    @property
    def insurance_platform(self) -> Callable[[Session], InsurancePlatform]: ...

    @property
    def sms_gateway(self) -> Callable[[Session], SmsGateway]: ...

    @property
    def push_gateway(self) -> Callable[[Session], PushGateway]: ...


@dataclass(frozen=True)
class DispatchReport:
    sent: int
    retried: int
    failed: int

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed}


def _body(container: DispatchContext, message: OutboxMessage) -> str:
    """The text as sent: a login code is rendered now, from its salt (never stored)."""
    if message.code_salt is None:
        return message.body
    code = login_code(container.settings.secret_key, message.code_salt)
    return message.body.replace(CODE_MASK, code, 1)


def _send(
    container: DispatchContext, session: Session, message: OutboxMessage, now: datetime
) -> None:
    if message.channel == SMS:
        person = container.insurance_platform(session).lookup_person(message.psn_no)
        if person is None or not person.phone:
            raise LookupError("no phone on file")
        container.sms_gateway(session).send_sms(
            phone=person.phone,
            psn_no=message.psn_no,
            kind=message.kind,
            body=_body(container, message),
            outbox_id=message.id,
            now=now,
        )
    elif message.channel == PUSH:
        container.push_gateway(session).send_push(
            psn_no=message.psn_no,
            kind=message.kind,
            body=message.body,
            link=message.link,
            outbox_id=message.id,
            now=now,
        )
    else:
        raise ValueError(f"unknown channel {message.channel}")


def dispatch_outbox(
    container: DispatchContext, now: datetime, *, batch_size: int = DISPATCH_BATCH
) -> DispatchReport:
    """Send every pending message once (failures stay pending until ``MAX_SEND_ATTEMPTS``)."""
    sent = retried = failed = 0
    after_id = 0
    while True:
        with container.uow() as uow:
            session = uow.session
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.id > after_id)
                .order_by(OutboxMessage.id)
                .limit(batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            batch = list(session.scalars(query))
            if not batch:
                return DispatchReport(sent, retried, failed)
            for message in batch:
                after_id = message.id
                try:
                    with session.begin_nested():
                        _send(container, session, message, now)
                except Exception as error:  # any gateway failure is retried, never fatal
                    message.attempts += 1
                    message.last_error = f"{type(error).__name__}: {error}"[:200]
                    if message.attempts >= MAX_SEND_ATTEMPTS:
                        message.status = FAILED
                        message.code_salt = None
                        failed += 1
                    else:
                        retried += 1
                    logger.warning(
                        "outbox message %d (%s to %s) not sent: %s",
                        message.id,
                        message.kind,
                        mask_psn_no(message.psn_no),
                        type(error).__name__,
                    )
                    record_failure(
                        session, sweep="messages", item_id=str(message.id), error=error, now=now
                    )
                    continue
                message.attempts += 1
                message.status = SENT
                message.sent_at = now
                message.code_salt = None  # the code cannot be rendered again
                sent += 1
            uow.commit()
