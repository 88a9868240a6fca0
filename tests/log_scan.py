"""The logs of the whole test run, scanned at its end for what must never be logged.

Every log line the tests' processes write goes through the service's formatter into one file
(:func:`capture_run`), and the servers the end-to-end tests start write theirs to files under the
run's temporary folder. At the end of the run (:func:`problems`):

- the safety net of ``api.logs`` must have masked nothing in this process (each mask is a log call
  that wrote an ID number, a phone or a bearer token), and nothing the servers logged may carry
  its masks either;
- none of the ID numbers, phones, bearer tokens and hospital secrets the harness handed out
  (:data:`SENSITIVE`) may appear in any of those lines;
- no 64-hex-digit string (a request signature, an HMAC secret) may appear in them.

One-time codes are looked for in the dedicated flow test only (``test_logs.py``): six digits
would meet other numbers by chance over a whole run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.logs import LEAK_LISTENERS, build_formatter, route_structlog_through_logging

#: Values the harness handed out that no log may contain (ID numbers, phones, tokens, secrets).
SENSITIVE: set[str] = set()

MASKED_PHONE = re.compile(r"(?<![\d*])\d{3}\*{4}\d{4}(?![\d*])")
MASKED_ID_NUMBER = re.compile(r"(?<![\d*])\d{4}\*{10}[\dXx]{4}(?![\d*])")
REDACTED_BEARER = "Bearer [redacted]"
HEX_64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{64}(?![0-9a-fA-F])")
TOKENISH = re.compile(r"[A-Za-z0-9_\-]{8,}")


def remember(*values: str) -> None:
    """The harness made these: a log line holding one is a leak."""
    SENSITIVE.update(value for value in values if value)


@contextmanager
def capture_run(path: Path) -> Iterator[list[tuple[str, str]]]:
    """Log every line of this process at INFO and above to ``path``; yields what the net caught."""
    caught: list[tuple[str, str]] = []

    def listen(kind: str, where: str) -> None:
        caught.append((kind, where))

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(build_formatter())
    route_structlog_through_logging()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    LEAK_LISTENERS.append(listen)
    try:
        yield caught
    finally:
        LEAK_LISTENERS.remove(listen)
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


def json_lines(path: Path) -> Iterator[str]:
    """The log lines of a file (a server's output also holds its plain start-up banner)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("{"):
                yield line


def problems(run_log: Path, server_logs: list[Path], caught: list[tuple[str, str]]) -> list[str]:
    found = [f"this process's log net masked a {kind} in field {where}" for kind, where in caught]
    for path in [run_log, *server_logs]:
        for number, line in enumerate(json_lines(path), 1):
            where = f"{path.name}:{number}"
            masked = (
                MASKED_PHONE.search(line)
                or MASKED_ID_NUMBER.search(line)
                or REDACTED_BEARER in line
            )
            if masked and path != run_log:
                found.append(f"{where}: the server's log net masked something: {line[:300]}")
            elif masked and caught:
                # The line as written (already masked), so the log call can be found.
                found.append(f"{where}: masked here: {line[:300]}")
            if HEX_64.search(line):
                found.append(f"{where}: a signature or secret: {line[:300]}")
            leaked = {word for word in TOKENISH.findall(line) if word in SENSITIVE}
            if leaked:
                found.append(f"{where}: {len(leaked)} sensitive value(s): {line[:300]}")
    return found
