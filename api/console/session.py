"""The console's cookies: an operator's session, a session id for CSRF, and the language.

The administrator logs in with the deployment's admin token once; the console then keeps a
session cookie that names no secret: its expiry, a random id and an HMAC over both and a digest
of the admin token, under the deployment's secret key. Changing the admin token (or the secret
key) ends every session; a session lasts :data:`SESSION_SECONDS` of real time (the sandbox's
test clock moves business time only). Forms carry a CSRF token derived from the session id
cookie, as on the patients' page (``api.web.session``). Every cookie is HttpOnly,
SameSite=Strict and scoped to ``/admin``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request
from fastapi.responses import Response

from api.web.session import csrf_ok, csrf_token, is_https, new_session_id
from settlement.foundation.clock import Seconds

__all__ = ["csrf_ok", "csrf_token", "new_session_id"]

COOKIE_PATH = "/admin"
SESSION_COOKIE = "shuxin_console"
SID_COOKIE = "shuxin_console_sid"
LANG_COOKIE = "shuxin_console_lang"
#: An operator's working day; then the admin token is asked for again.
SESSION_SECONDS = 8 * 3600
SID_SECONDS = 24 * 3600
LANG_SECONDS = 365 * 24 * 3600


def _mac(secret_key: str, admin_token: str, expires: int, nonce: str) -> str:
    token_digest = hashlib.sha256(admin_token.encode()).hexdigest()
    message = f"console\n{expires}\n{nonce}\n{token_digest}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def issue(secret_key: str, admin_token: str, *, now: Seconds | None = None) -> str:
    """A new session value: ``expires.nonce.mac``."""
    expires = int(now if now is not None else time.time()) + SESSION_SECONDS
    nonce = secrets.token_urlsafe(16)
    return f"{expires}.{nonce}.{_mac(secret_key, admin_token, expires, nonce)}"


def valid(
    secret_key: str, admin_token: str, value: str | None, *, now: Seconds | None = None
) -> bool:
    """Whether ``value`` is an unexpired session issued under this admin token and key."""
    if not value or not admin_token:
        return False
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    expires, nonce, mac = int(parts[0]), parts[1], parts[2]
    if expires <= (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_mac(secret_key, admin_token, expires, nonce), mac)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=is_https(request)
    )
