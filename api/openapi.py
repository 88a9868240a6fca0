"""OpenAPI helpers: the ``responses=`` of a route, listing every error code it can answer with."""

from __future__ import annotations

from typing import Any

from api.errors import ERROR_CODES

#: The 401 codes of a signed HIS request.
HIS_AUTH_CODES = ("unauthenticated", "bad_signature", "stale_timestamp", "nonce_reused")
#: The 401 code of a bearer token (patient or administrator).
BEARER_AUTH_CODES = ("unauthenticated",)


def error_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` grouping ``codes`` by HTTP status, each with its meaning."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    return {
        status: {
            "description": "; ".join(f"`{c}`: {ERROR_CODES[c][1]}" for c in listed),
            "content": {
                "application/json": {
                    "example": {"error": {"code": listed[0], "message": ERROR_CODES[listed[0]][1]}}
                }
            },
        }
        for status, listed in sorted(by_status.items())
    }


def errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an HIS call: the signature's 401 codes and ``codes``."""
    return error_responses(*HIS_AUTH_CODES, *codes)


def bearer_errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a bearer-token call: 401 ``unauthenticated`` and ``codes``."""
    return error_responses(*BEARER_AUTH_CODES, *codes)
