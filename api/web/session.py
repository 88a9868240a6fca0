"""The page's cookies: the patient's bearer token, a session id for CSRF, and display choices.

The bearer token is the one ``POST /v1/auth/token`` issues, kept in an HttpOnly, SameSite=Strict
cookie so page scripts never see it. Every form carries a CSRF token derived from the session
cookie with the deployment's secret; a POST without the matching token is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

TOKEN_COOKIE = "shuxin_token"
SESSION_COOKIE = "shuxin_sid"
LANG_COOKIE = "shuxin_lang"
TEXT_COOKIE = "shuxin_text"
CONTRAST_COOKIE = "shuxin_contrast"
#: Display choices last a year; they are not secrets.
PREFERENCE_MAX_AGE = 365 * 24 * 3600
SESSION_MAX_AGE = 30 * 24 * 3600


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret_key: str, session_id: str) -> str:
    """The form token of a session: HMAC-SHA256 of the session id under the deployment secret."""
    return hmac.new(secret_key.encode(), f"csrf\n{session_id}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret_key: str, session_id: str | None, given: str | None) -> bool:
    """Whether a posted form's token belongs to this browser's session (constant time)."""
    if not session_id or not given:
        return False
    return hmac.compare_digest(csrf_token(secret_key, session_id), given)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_private_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int
) -> None:
    """An HttpOnly, SameSite=Strict cookie scoped to the page (Secure when served over HTTPS)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/app",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/app", httponly=True, samesite="strict", secure=is_https(request)
    )
