"""Structured logs: one JSON object per line, through structlog, for every process of the service.

:func:`configure_logging` runs once at the start of each process (the CLI, ``shuxin serve`` and
each of its workers, ``shuxin scheduler``). It puts one handler on the root logger whose
formatter is structlog's :class:`~structlog.stdlib.ProcessorFormatter`, so every ``logging``
call of the code, of uvicorn (its access log included), APScheduler and SQLAlchemy comes out as
one JSON object with ``timestamp``, ``pid``, ``level``, ``logger`` and ``event``, and, inside a
request, that request's ``request_id`` and, once authenticated, its ``hospital`` code or the
``patient``'s masked ``psn_no`` (:mod:`api.request_context` records them).

What must never reach a log (an ID number, a phone number, a token, a secret, a signature) is
kept out where it is written; :func:`redact` is the net under that: fields named like a secret
are replaced, and an ID number, a mobile number or a bearer token inside any text is masked.
A test run counts what the net caught (:data:`LEAK_LISTENERS`): it must be nothing.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from credit.identity import (
    ID_NUMBER_IN_TEXT,
    MOBILE_IN_TEXT,
    mask_certno,
    mask_phone,
    mask_psn_no,
)

#: Logger levels set apart from the root's: their INFO lines are noise for an operator.
QUIET_LOGGERS = {"alembic": logging.WARNING}


@dataclass
class RequestLog:
    """What every log line of one request carries; :mod:`api.request_context` sets it."""

    request_id: str
    hospital: str | None = None
    patient: str | None = None  # masked psn_no
    #: The path as logged: the route's template filled in, a ``psn_no`` in it masked.
    path: str | None = None


#: What people did that an operator or an auditor looks for (a login, a signature, a payment, a
#: hospital's secret rotated): one line each, with its outcome, never with the values themselves.
audit = structlog.get_logger("shuxin.audit")

#: The request being served in this task (none outside requests: the scheduler, the CLI).
CURRENT_REQUEST: ContextVar[RequestLog | None] = ContextVar("shuxin_request_log", default=None)


def current_request_id() -> str | None:
    log = CURRENT_REQUEST.get()
    return log.request_id if log is not None else None


def note_hospital(code: str) -> None:
    """The request is a hospital's (its signature verified)."""
    log = CURRENT_REQUEST.get()
    if log is not None:
        log.hospital = code


def note_patient(psn_no: str) -> None:
    """The request is this patient's (their token verified); logged masked."""
    log = CURRENT_REQUEST.get()
    if log is not None:
        log.patient = mask_psn_no(psn_no)


# -- processors -----------------------------------------------------------------------------------


def add_request(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    log = CURRENT_REQUEST.get()
    if log is not None:
        event.setdefault("request_id", log.request_id)
        if log.hospital is not None:
            event.setdefault("hospital", log.hospital)
        if log.patient is not None:
            event.setdefault("patient", log.patient)
    return event


def add_timestamp(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """UTC to the millisecond (finer adds nothing an operator can use), and the process: with
    ``--workers N`` several write to one stream."""
    event["timestamp"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    event["pid"] = os.getpid()
    return event


#: What a record carries once another handler (a test runner's) has formatted it: not extras.
_FORMATTED_ATTRIBUTES = ("message", "asctime")


def drop_formatted_attributes(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for name in _FORMATTED_ATTRIBUTES:
        event.pop(name, None)
    return event


def uvicorn_access_fields(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """uvicorn's access line as fields, its path as :class:`RequestLog` records it (masked)."""
    record = event.get("_record")
    args = event.pop("positional_args", None)
    event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
    if record is None or record.name != "uvicorn.access":
        return event
    if not isinstance(args, tuple) or len(args) != 5:
        return event
    client, method, full_path, http_version, status = args
    log = CURRENT_REQUEST.get()
    path = log.path if log is not None and log.path else _strip_query(str(full_path))
    event.update(
        event=f"{method} {path} {status}",
        client=client,
        method=method,
        path=path,
        http_version=http_version,
        status=status,
    )
    return event


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]


#: Field names whose value is never logged.
SECRET_FIELDS = frozenset(
    {
        "authorization",
        "access_token",
        "token",
        "secret",
        "password",
        "signature",
        "otp",
        "sandbox_code",
        "x-shuxin-signature",
    }
)
#: Field names whose value is logged masked.
MASKED_FIELDS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "certno": mask_certno,
    "psn_no": mask_psn_no,
}
ID_NUMBER = ID_NUMBER_IN_TEXT
MOBILE = MOBILE_IN_TEXT
BEARER = re.compile(r"\bbearer\s+[^\s\"',;]+", re.IGNORECASE)
REDACTED = "[redacted]"

#: Called with the kind of what :func:`redact` had to mask inside a text ("id_number", "phone",
#: "bearer"); the test run listens, since each is a log call that should not have written it.
LEAK_LISTENERS: list[Callable[[str, str], None]] = []


#: Any of the three, for one pass over a text that usually holds none of them.
_ANY_SENSITIVE = re.compile(f"{ID_NUMBER.pattern}|{MOBILE.pattern}|{BEARER.pattern}", re.IGNORECASE)
#: Fields the formatter writes itself, never from a caller's text, and the request id, which
#: never looks like anything the net masks (:func:`looks_sensitive`, ``api.request_context``).
_OWN_FIELDS = frozenset({"level", "logger", "timestamp", "pid", "request_id"})


def looks_sensitive(text: str) -> bool:
    """Whether the net would mask something in ``text`` (an ID number, a phone, a bearer token)."""
    return _ANY_SENSITIVE.search(text) is not None


def _mask_text(text: str, where: str) -> str:
    if _ANY_SENSITIVE.search(text) is None:
        return text
    for kind, pattern, mask in (
        ("id_number", ID_NUMBER, lambda m: mask_certno(m.group(0))),
        ("phone", MOBILE, lambda m: mask_phone(m.group(0))),
        ("bearer", BEARER, lambda _: f"Bearer {REDACTED}"),
    ):
        text, found = pattern.subn(mask, text)
        if found:
            for listener in LEAK_LISTENERS:
                listener(kind, where)
    return text


def _redact_value(name: str, value: Any) -> Any:
    lowered = name.lower()
    if lowered in SECRET_FIELDS:
        return REDACTED
    if lowered in MASKED_FIELDS and isinstance(value, str):
        return MASKED_FIELDS[lowered](value)
    if isinstance(value, str):
        return _mask_text(value, name)
    if isinstance(value, dict):
        return {key: _redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(name, item) for item in value]
    return value


def redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Replace secrets by field name; mask ID numbers, phones and bearer tokens in any text."""
    return {
        key: value if key in _OWN_FIELDS else _redact_value(key, value)
        for key, value in event.items()
    }


def _shared_processors() -> list[Processor]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_timestamp,
        add_request,
    ]


def build_formatter(fmt: str = "json") -> logging.Formatter:
    """The formatter every handler of the service uses: stdlib records in, one line out."""
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
    )
    return structlog.stdlib.ProcessorFormatter(
        pass_foreign_args=True,  # uvicorn's access line is read from its arguments
        foreign_pre_chain=[
            structlog.stdlib.ExtraAdder(),
            drop_formatted_attributes,
            uvicorn_access_fields,
            *_shared_processors(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )


def configure_logging(
    *, level: str = "INFO", fmt: str = "json", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log line of this process, as one JSON object (or a console line), to
    ``stream`` (standard error); returns the handler. Calling it again replaces the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(build_formatter(fmt))
    handler.set_name("shuxin")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "shuxin"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers write through the root's handler (uvicorn is started without a
    # logging configuration of its own: see api.cli.UVICORN_OPTIONS).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
    route_structlog_through_logging()
    return handler


def route_structlog_through_logging() -> None:
    """structlog's own loggers (``structlog.get_logger``) hand their lines to ``logging``, so
    both kinds meet in one handler and one format."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure_logging_from_environment() -> logging.Handler:
    """:func:`configure_logging` with ``SHUXIN_LOG_LEVEL`` and ``SHUXIN_LOG_FORMAT`` (a bad value
    falls back to the default, so that the settings' own error can still be logged)."""
    from pydantic import ValidationError

    from settlement.foundation.config import Settings

    try:
        settings = Settings()
    except ValidationError:
        return configure_logging()
    return configure_logging(level=settings.log_level, fmt=settings.log_format)
