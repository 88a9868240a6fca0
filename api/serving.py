"""How uvicorn serves the API: HTTP/1.1 (h11) with Nagle's algorithm off on every connection.

asyncio turns ``TCP_NODELAY`` on only for sockets whose protocol number says TCP. With
``--workers N`` uvicorn binds the listening socket itself without one (``proto`` 0), so the
workers' accepted connections kept Nagle's algorithm: a response written as head then body
waited for the client's delayed ACK, ~40 ms a request (a bare endpoint fell from ~2,000 to ~650
requests/s). This protocol sets the option itself, whoever made the socket.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def disable_nagle(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once on a TCP connection (no-op for other sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHTTPProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        disable_nagle(transport)
        super().connection_made(transport)
