"""Several uvicorn worker processes, each accepting on a listening socket of its own.

uvicorn's ``--workers N`` has every worker accept on one shared socket. A connection goes to
whichever worker wakes first, and asyncio then accepts everything that is waiting, so when
clients connect together (an HIS at start of day, a load generator) one worker can take nearly
all the connections. HIS connections are kept alive for hours, so that worker then serves
nearly all the requests while the others idle: at 32 clients the fee-batch rate varied from run
to run between one worker's and two workers' (~290 to ~480 batches/s), with p99 to match.

Here the supervisor binds one socket per worker, all on the same port with ``SO_REUSEPORT``, and
the kernel spreads new connections across them by a hash of their addresses. The supervisor
keeps every socket open and never accepts on one: a worker that dies is replaced on the same
socket, and connections that arrive meanwhile wait in its queue. Only public uvicorn API is used
(``Config``, ``Server.run(sockets=...)``); the workers are spawned, not forked, because the
supervisor may already run threads (the scheduler).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

#: uvicorn's exit code for a worker that could not start (a broken app or settings): restarting
#: it would fail the same way, so the supervisor stops instead.
STARTUP_FAILURE = 3
#: How long a worker has to finish its requests after SIGTERM before it is killed.
STOP_SECONDS = 10.0
#: The listen queue of each worker's socket (uvicorn's default).
BACKLOG = 2048

log = logging.getLogger("shuxin.workers")


def reuse_port_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port`` (port 0: one free port for all of them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            # Listening now, in the supervisor, so the kernel queues connections for a worker
            # that is still starting (or being replaced) instead of refusing them.
            sock.listen(BACKLOG)
            port = sock.getsockname()[1]
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _serve(options: Mapping[str, Any], sock: socket.socket) -> None:
    """A worker: uvicorn on the socket it was given (runs in the spawned process)."""
    import uvicorn

    from api.logs import configure_logging_from_environment

    configure_logging_from_environment()  # a spawned process starts with nothing configured
    server = uvicorn.Server(uvicorn.Config(**options))
    server.run(sockets=[sock])
    if not server.started:  # the app or its lifespan failed: as ``uvicorn.run`` exits
        sys.exit(STARTUP_FAILURE)


class Workers:
    """Start ``count`` workers serving ``options`` (``uvicorn.Config`` arguments), one socket
    each; replace a worker that dies; stop them all on SIGINT or SIGTERM, or on :meth:`stop`.

    ``on_exit`` is told the pid of each worker that has exited (its metrics are forgotten).
    """

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        host: str,
        port: int,
        count: int,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.options = dict(options)
        self.on_exit = on_exit
        self.sockets = reuse_port_sockets(host, port, count)
        self.processes: list[BaseProcess] = []
        self.failed = False
        self._stopping = threading.Event()
        self._context = multiprocessing.get_context("spawn")

    def run(self) -> int:
        """Serve until told to stop; 0, or 1 when a worker could not start."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        try:
            self.processes = [self._start(sock) for sock in self.sockets]
            while not self._stopping.wait(0.5):
                self._replace_the_dead()
        finally:
            self._stop_all()
            for sock in self.sockets:
                sock.close()
        return 1 if self.failed else 0

    def stop(self) -> None:
        self._stopping.set()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    def _start(self, sock: socket.socket) -> BaseProcess:
        process = self._context.Process(target=_serve, args=(self.options, sock), daemon=False)
        process.start()
        return process

    def _replace_the_dead(self) -> None:
        for index, process in enumerate(self.processes):
            if process.is_alive() or self._stopping.is_set():
                continue
            process.join()
            self._exited(process)
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker %s could not start; stopping", process.pid)
                self.failed = True
                self.stop()
                return
            log.warning("worker %s exited with %s; starting another", process.pid, process.exitcode)
            self.processes[index] = self._start(self.sockets[index])

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in self.processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
            self._exited(process)

    def _exited(self, process: BaseProcess) -> None:
        if self.on_exit is not None and process.pid is not None:
            self.on_exit(process.pid)
