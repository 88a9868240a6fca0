"""The API's connections send small writes at once, however uvicorn made the listening socket."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from uvicorn.config import Config
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from api.cli import UVICORN_OPTIONS
from api.serving import (
    OLDER_COLLECTION_RATIO,
    YOUNG_COLLECTION_THRESHOLD,
    NoDelayHTTPProtocol,
)


async def _app(scope, receive, send):  # pragma: no cover - never called: no request is sent
    raise AssertionError("no request is made")


async def _nodelay_of_accepted_connection(protocol_class: type[H11Protocol]) -> int:
    # The listening socket as uvicorn binds it for --workers N: no protocol number.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    assert listener.proto == 0
    config = Config(app=_app, log_level="warning")
    config.load()
    made = asyncio.Event()
    accepted: list[object] = []

    class Recorded(protocol_class):  # type: ignore[misc, valid-type]
        def connection_made(self, transport):
            super().connection_made(transport)
            accepted.append(transport.get_extra_info("socket"))
            made.set()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Recorded(config=config, server_state=ServerState(), app_state={}), sock=listener
    )
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname())
        await asyncio.wait_for(made.wait(), timeout=10)
        writer.close()
        return accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        server.close()
        await server.wait_closed()


def _nodelay(protocol_class: type[H11Protocol]) -> int:
    # A loop of its own in a thread of its own: other tests (the browser's) may leave one
    # running in this thread, where asyncio.run refuses to start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _nodelay_of_accepted_connection(protocol_class)).result()


def test_uvicorns_own_protocol_keeps_nagle_on_a_workers_socket():
    """Why the project's protocol exists: on such a socket asyncio leaves Nagle's algorithm on."""
    assert _nodelay(H11Protocol) == 0


def test_the_served_protocol_turns_nagle_off_on_every_connection():
    assert _nodelay(NoDelayHTTPProtocol) != 0


def test_shuxin_serve_uses_that_protocol():
    assert import_from_string(UVICORN_OPTIONS["http"]) is NoDelayHTTPProtocol


def test_a_socket_that_is_not_tcp_is_left_alone():
    """TCP_NODELAY on a Unix socket raises OSError: the family check is what keeps it out."""
    from api.serving import disable_nagle

    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        with pytest.raises(OSError):
            left.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        class Transport:
            def get_extra_info(self, name):
                return left if name == "socket" else None

        disable_nagle(Transport())  # type: ignore[arg-type]


def test_a_serving_worker_freezes_start_up_and_collects_young_objects_less_often(tmp_path):
    # In a process of its own: freezing this test process's objects would outlive the test.
    probe = (
        "import gc, json\n"
        "before = gc.get_threshold()\n"
        "from api.cli import build_worker_app\n"
        "build_worker_app()\n"
        "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUXIN_")}
    env["SHUXIN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'worker.db'}"
    run = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    before, after, frozen = json.loads(run.stdout.splitlines()[-1])
    assert before == [700, 10, 10]  # Python's own, so the change below is the worker's doing
    assert after == [YOUNG_COLLECTION_THRESHOLD, OLDER_COLLECTION_RATIO, OLDER_COLLECTION_RATIO]
    assert frozen > 10_000  # the app, its routes and models, the mappers: all frozen
