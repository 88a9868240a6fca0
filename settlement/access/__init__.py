"""Who may call the API: hospitals (signed requests), patients (one-time codes, bearer tokens)."""

from settlement.access.directory import PersonDirectory, SandboxPersonDirectory
from settlement.access.hospitals import (
    Hospital,
    create_hospital,
    ensure_hospital,
    get_hospital,
    hospital_secret,
    rotate_secret,
)
from settlement.access.nonces import RequestNonce, purge_expired_nonces, record_nonce
from settlement.access.otp import OtpCode, check_code, purge_expired_codes, request_code
from settlement.access.rate_limits import RateLimitCounter, purge_expired_counters
from settlement.access.signing import sign_request
from settlement.access.tokens import AccessToken, issue_token, resolve_token, revoke_token

__all__ = [
    "AccessToken",
    "Hospital",
    "OtpCode",
    "PersonDirectory",
    "RateLimitCounter",
    "RequestNonce",
    "SandboxPersonDirectory",
    "check_code",
    "create_hospital",
    "ensure_hospital",
    "get_hospital",
    "hospital_secret",
    "issue_token",
    "purge_expired_codes",
    "purge_expired_counters",
    "purge_expired_nonces",
    "record_nonce",
    "request_code",
    "resolve_token",
    "revoke_token",
    "rotate_secret",
    "sign_request",
]
