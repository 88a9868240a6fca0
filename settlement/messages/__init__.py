"""Messages to patients and family managers: the outbox, its templates and its dispatcher."""

from settlement.messages.adapters import (
    PushGateway,
    SandboxPushGateway,
    SandboxSmsGateway,
    SmsGateway,
)
from settlement.messages.dispatcher import DispatchReport, dispatch_outbox
from settlement.messages.outbox import OutboxCodeSender, enqueue, enqueue_rows, outbox_row
from settlement.messages.tables import OutboxMessage, SandboxMessage
from settlement.messages.templates import Rendered, render_bill_notice, render_login_code

__all__ = [
    "DispatchReport",
    "OutboxCodeSender",
    "OutboxMessage",
    "PushGateway",
    "Rendered",
    "SandboxMessage",
    "SandboxPushGateway",
    "SandboxSmsGateway",
    "SmsGateway",
    "dispatch_outbox",
    "enqueue",
    "enqueue_rows",
    "outbox_row",
    "render_bill_notice",
    "render_login_code",
]
