"""JSON bodies parsed exactly: a JSON number becomes a Decimal, never a binary float.

``12.30`` in a body is the text ``12.30``; parsing it as a float first would make 0.1 + 0.2 a
problem and could turn ``12.345`` into something that rounds quietly. Routes of this class hand
Pydantic a Decimal that still says exactly what the caller wrote.

Parsed strictly too: a key twice in one object (the standard library keeps the last one, so two
readers of the same body could disagree), a number in exponent notation (``1e1`` is no amount
the contract allows), ``NaN``/``Infinity``, and nesting deeper than the parser's recursion (which
would otherwise escape as a ``RecursionError``) are refused as invalid JSON: 422, path ``body``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class JsonRefused(ValueError):
    """Well-formed JSON that the service does not take (duplicate key, exponent, NaN)."""


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a number JSON allows")


def _exact_number(literal: str) -> Decimal:
    if "e" in literal or "E" in literal:
        raise JsonRefused(f"{literal} is in exponent notation; write digits and a point")
    return Decimal(literal)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonRefused(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return result


def loads_exact(body: bytes | str) -> Any:
    """Parse a JSON body exactly and strictly (see the module's docstring).

    Raises:
        json.JSONDecodeError: malformed or refused JSON, with the reason as its ``msg``.
    """
    text = body.decode() if isinstance(body, bytes) else body
    try:
        return json.loads(
            text,
            parse_float=_exact_number,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except JsonRefused as refused:
        raise json.JSONDecodeError(str(refused), text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


class ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_exact(await self.body())
        return self._json


class ExactJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_handler(request: Request) -> Response:
            return await handler(ExactJsonRequest(request.scope, request.receive))

        return exact_handler
