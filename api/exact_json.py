"""JSON bodies parsed exactly: a JSON number becomes a Decimal, never a binary float.

``12.30`` in a body is the text ``12.30``; parsing it as a float first would make 0.1 + 0.2 a
problem and could turn ``12.345`` into something that rounds quietly. Routes of this class hand
Pydantic a Decimal that still says exactly what the caller wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
        return self._json


class ExactJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_handler(request: Request) -> Response:
            return await handler(ExactJsonRequest(request.scope, request.receive))

        return exact_handler
