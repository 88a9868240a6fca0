"""Hostile requests against a real server (uvicorn, as ``shuxin serve`` runs it), issue 17.

Bad input is answered 4xx and the keep-alive connection it came on stays usable; bodies, headers
and slow clients are bounded (413, 431, 408) and those answers close the connection, saying so.
The limits are set small here (``SHUXIN_*``) so that each case is quick.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from settlement.access.signing import new_nonce, sign_request
from tests.e2e.server import (
    ServerProcess,
    World,
    postgres_schema_url,
    seed_world,
    start_app_server,
    visit_body,
)

#: Far deeper than the JSON parser recurses, and under the body limit below.
DEEP = b"[" * 50_000
LIMITS = {
    "SHUXIN_MAX_BODY_BYTES": "65536",
    "SHUXIN_MAX_HEADER_BYTES": "8192",
    "SHUXIN_HEADER_TIMEOUT_SECONDS": "1",
    "SHUXIN_BODY_TIMEOUT_SECONDS": "1",
    "SHUXIN_KEEP_ALIVE_SECONDS": "30",
}


def database_url(engine: Engine, postgres_database: Any) -> str:
    if postgres_database is not None:
        return postgres_schema_url(postgres_database.url, postgres_database.schema)
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def world(engine: Engine) -> World:
    return seed_world(engine, hospitals=["HHOSTILE"], patients=1)


@pytest.fixture
def server(
    engine: Engine, postgres_database: Any, world: World, tmp_path: Path
) -> Iterator[ServerProcess]:
    url = database_url(engine, postgres_database)
    with start_app_server(tmp_path, database_url=url, settings={**world.settings, **LIMITS}) as up:
        yield up


def connect(server: ServerProcess) -> http.client.HTTPConnection:
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.connect()
    return connection


def signed_headers(world: World, method: str, path: str, body: bytes) -> dict[str, str]:
    hospital = world.hospitals[0]
    headers = sign_request(
        hospital.secret,
        method,
        path,
        body,
        int(time.time()),
        new_nonce(),
        hospital_code=hospital.code,
    )
    return {**headers, "Idempotency-Key": new_nonce()}


def hostile_requests(world: World) -> list[tuple[str, str, bytes, dict[str, str]]]:
    psn_no = world.patients[0][0]
    visit = visit_body(psn_no, "MZ-HOSTILE")
    requests: list[tuple[str, str, bytes, dict[str, str]]] = []

    def his(method: str, path: str, body: bytes, content_type: str | None = "application/json"):
        headers = signed_headers(world, method, path, body)
        if content_type is not None:
            headers["Content-Type"] = content_type
        requests.append((method, path, body, headers))

    for begntime in ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "0", "1700000000"]:
        his("POST", "/his/v1/visits", json.dumps({**visit, "begntime": begntime}).encode())
    his(
        "POST", "/his/v1/visits", json.dumps({**visit, "begntime": "1970-01-01T00:00:00Z"}).encode()
    )
    for content_type in ["application/json", "text/plain", None]:
        his("POST", "/his/v1/visits", DEEP, content_type)
    his("POST", "/his/v1/visits", b'{"psn_no":"1","psn_no":"2"}')
    his("GET", "/his/v1/visits/%00", b"")
    his("GET", "/his/v1/reconciliation?date=9999-12-31", b"")
    his("GET", "/his/v1/reconciliation?date=0001-01-01", b"")
    requests.append(
        ("POST", "/v1/wallets/wechat/notify", DEEP, {"Content-Type": "application/json"})
    )
    requests.append(("GET", "/v1/bills/%00", b"", {"Authorization": "Bearer nobody"}))
    return requests


def test_bad_input_is_4xx_and_the_keep_alive_connection_stays_usable(server, world):
    connection = connect(server)
    first_socket = connection.sock
    for method, path, body, headers in hostile_requests(world):
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read()
        assert 400 <= answer.status < 500, (path, answer.status, text[:300])
        assert json.loads(text)["error"]["code"], text
        assert not answer.will_close, (path, answer.getheaders())
        connection.request("GET", "/health")
        health = connection.getresponse()
        health.read()
        assert health.status == 200
        assert connection.sock is first_socket, f"the connection was dropped after {path}"
    assert "Traceback" not in server.log()


def raw_exchange(server: ServerProcess, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                return received
            received += chunk
        raise AssertionError(f"the server kept the connection open; got {received[:300]!r}")


def status_and_code(answer: bytes) -> tuple[int, str, bool]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    closes = any(line.lower() == "connection: close" for line in lines[1:])
    return status, json.loads(body)["error"]["code"], closes


def test_a_body_declared_larger_than_the_limit_is_413_without_being_read(server):
    head = (
        b"POST /v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    assert status_and_code(raw_exchange(server, head)) == (413, "body_too_large", True)


def test_a_chunked_body_past_the_limit_is_413(server):
    chunk = b"x" * 16384
    data = b"POST /v1/auth/otp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    data += b"Content-Type: application/json\r\n\r\n"
    data += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6))  # 96 KiB
    assert status_and_code(raw_exchange(server, data)) == (413, "body_too_large", True)


def test_headers_larger_than_the_limit_are_431_whole_or_unfinished(server):
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 20_000 + b"\r\n\r\n"
    assert status_and_code(raw_exchange(server, big)) == (431, "headers_too_large", True)
    unfinished = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 20_000
    assert status_and_code(raw_exchange(server, unfinished)) == (431, "headers_too_large", True)


def test_a_slow_request_head_is_408_and_a_silent_connection_is_closed(server):
    started = time.monotonic()
    partial = b"GET /health HTTP/1.1\r\nHost: x\r\n"  # and then nothing more
    assert status_and_code(raw_exchange(server, partial)) == (408, "request_timeout", True)
    assert raw_exchange(server, b"") == b""  # connected, said nothing: closed, no answer
    assert time.monotonic() - started < 8


def test_a_body_that_stops_arriving_is_408(server):
    head = (
        b"POST /v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"phone":'
    )
    assert status_and_code(raw_exchange(server, head)) == (408, "request_timeout", True)


def test_a_slow_loris_that_trickles_its_head_is_cut_off(server):
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 6:
            try:
                sock.sendall(b"X-a: b\r\n")  # a header line every 0.3 s, never the end
            except OSError:
                closed = True
                break
            time.sleep(0.3)
            sock.setblocking(False)
            try:
                if sock.recv(65536) is not None:
                    closed = True
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        assert closed, "the server let a trickling head hold the connection"
        assert time.monotonic() - started < 4
