"""Login codes derived from a random salt under the deployment key.

A code is never stored: ``otp_codes`` keeps its keyed hash and the outbox keeps its salt, from
which only a holder of ``SHUXIN_SECRET_KEY`` can render the code, at the moment the SMS is sent;
the salt is then erased. A copy of the database alone holds no usable login code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_DIGITS = 6


def new_code_salt() -> str:
    return secrets.token_hex(16)


def login_code(secret_key: str, salt: str) -> str:
    """The six-digit code of ``salt`` (uniform to within 2**-64)."""
    digest = hmac.new(secret_key.encode(), f"login-code:{salt}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:16], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
