"""Writing the outbox: rows added in the caller's transaction, so a message exists exactly when
the change that caused it was committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from credit.identity import mask_psn_no
from settlement.foundation.clock import Clock
from settlement.foundation.db import insert_rows
from settlement.messages.tables import FAILED, PENDING, SENT, SMS, OutboxMessage, SandboxMessage
from settlement.messages.templates import CODE_MASK, Rendered, render_login_code

logger = logging.getLogger("shuxin.messages")
OUTBOX = cast(Table, OutboxMessage.__table__)


def outbox_row(
    *,
    kind: str,
    psn_no: str,
    channel: str,
    rendered: Rendered,
    now: datetime,
    bill_id: str | None = None,
) -> dict[str, Any]:
    """The values of one outbox row, for :func:`enqueue_rows`."""
    return {
        "kind": kind,
        "bill_id": bill_id,
        "psn_no": psn_no,
        "channel": channel,
        "template": rendered.template,
        "body": rendered.body,
        "body_en": rendered.body_en,
        "link": rendered.link,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
    }


def enqueue_rows(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert outbox rows in one statement (the caller's transaction); returns how many."""
    return insert_rows(session, OUTBOX, list(rows))


def enqueue(
    session: Session,
    *,
    kind: str,
    psn_no: str,
    channel: str,
    rendered: Rendered,
    now: datetime,
    bill_id: str | None = None,
) -> None:
    """Queue one message in the caller's transaction."""
    enqueue_rows(
        session,
        [
            outbox_row(
                kind=kind,
                psn_no=psn_no,
                channel=channel,
                rendered=rendered,
                now=now,
                bill_id=bill_id,
            )
        ],
    )


class OutboxCodeSender:
    """A :class:`~settlement.access.delivery.CodeSender` that queues login codes as SMS."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

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
        # The dispatcher looks the phone up again from psn_no; it is not stored or logged here.
        # Nor is the code: the row holds the text with CODE_MASK and the salt the dispatcher
        # renders the code from when it sends (then erases).
        row = outbox_row(
            kind="login_code",
            psn_no=psn_no,
            channel=SMS,
            rendered=render_login_code(CODE_MASK, expires_in),
            now=self.clock.now(),
        )
        enqueue_rows(session, [{**row, "code_salt": code_salt}])
        logger.info("login code queued for %s", mask_psn_no(psn_no))


def purge_sent_messages(session: Session, *, before: datetime) -> int:
    """Delete messages sent before ``before`` (and the sandbox's record of them); how many
    outbox rows went. Failed ones stay for an operator."""
    result = session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == SENT, OutboxMessage.sent_at < before)
    )
    session.execute(delete(SandboxMessage).where(SandboxMessage.sent_at < before))
    return int(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class OutboxBacklog:
    """What waits in the outbox: messages still to send, those given up on, the oldest waiting."""

    pending: int
    failed: int
    oldest_pending_at: datetime | None


def outbox_backlog(session: Session) -> OutboxBacklog:
    """Counted over ``ix_outbox_status_id``; the oldest is the lowest pending id (ids grow)."""
    counts = dict(
        session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_((PENDING, FAILED)))
            .group_by(OutboxMessage.status)
        ).all()
    )
    oldest = session.scalar(
        select(OutboxMessage.created_at)
        .where(OutboxMessage.status == PENDING)
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    return OutboxBacklog(counts.get(PENDING, 0), counts.get(FAILED, 0), oldest)
