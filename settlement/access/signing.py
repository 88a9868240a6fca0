"""Signed HIS requests: the canonical string, its HMAC-SHA256 and the client-side helper.

A hospital signs ``METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA256(body))`` with
its secret; the signature is the lowercase hex HMAC-SHA256. This module is pure (no database, no
HTTP) so the API, the tests, the benchmark and the README script all sign the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

HOSPITAL_HEADER = "X-Shuxin-Hospital"
TIMESTAMP_HEADER = "X-Shuxin-Timestamp"
NONCE_HEADER = "X-Shuxin-Nonce"
SIGNATURE_HEADER = "X-Shuxin-Signature"

#: How far the request's timestamp may be from the server's clock, either way.
TIMESTAMP_TOLERANCE_SECONDS = 300
#: Nonces are remembered this long: any request still inside the timestamp window is covered.
NONCE_RETENTION_SECONDS = 2 * TIMESTAMP_TOLERANCE_SECONDS

NONCE_PATTERN = re.compile(r"^[\x21-\x7e]{16,64}$")
TIMESTAMP_PATTERN = re.compile(r"^[0-9]{1,12}$")
SIGNATURE_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def body_digest(body: bytes) -> str:
    """Lowercase hex SHA-256 of the raw body (of ``b""`` for a request without one)."""
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str, path_with_query: str, timestamp: str | int, nonce: str, body: bytes
) -> str:
    """The exact text a hospital signs; ``path_with_query`` is the raw path and query as sent."""
    return "\n".join((method.upper(), path_with_query, str(timestamp), nonce, body_digest(body)))


def compute_signature(secret: str, canonical: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``canonical`` under ``secret``."""
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def signature_matches(secret: str, canonical: str, signature: str) -> bool:
    """Constant-time check of a received signature against the expected one."""
    expected = compute_signature(secret, canonical)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def new_nonce() -> str:
    """A fresh random nonce (32 hex characters)."""
    return secrets.token_hex(16)


def sign_request(
    secret: str,
    method: str,
    path_with_query: str,
    body: bytes,
    timestamp: int | str,
    nonce: str,
    *,
    hospital_code: str | None = None,
) -> dict[str, str]:
    """The authentication headers for one HIS request (add ``X-Shuxin-Hospital`` if given)."""
    canonical = canonical_request(method, path_with_query, timestamp, nonce, body)
    headers = {
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: compute_signature(secret, canonical),
    }
    if hospital_code is not None:
        headers[HOSPITAL_HEADER] = hospital_code
    return headers
