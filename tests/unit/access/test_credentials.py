"""The HIS signature, independent of any web framework: the exact string and its HMAC."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from credit.identity import mask_phone
from settlement.access.hospitals import derive_secret
from settlement.access.otp import code_hash, phone_digest
from settlement.access.signing import (
    NONCE_PATTERN,
    body_digest,
    canonical_request,
    compute_signature,
    new_nonce,
    sign_request,
    signature_matches,
)
from settlement.foundation.codes import login_code, new_code_salt

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_canonical_string_is_the_five_parts_joined_by_newlines():
    canonical = canonical_request("post", "/his/v1/visits?x=1", 1795397400, "n" * 16, b"{}")
    assert canonical == (
        "POST\n/his/v1/visits?x=1\n1795397400\n"
        + "n" * 16
        + "\n"
        + hashlib.sha256(b"{}").hexdigest()
    )


def test_an_empty_body_hashes_to_the_sha256_of_nothing():
    assert body_digest(b"") == EMPTY_SHA256


def test_the_signature_is_the_lowercase_hex_hmac_sha256_of_the_canonical_string():
    headers = sign_request("s3cret", "GET", "/his/v1/x", b"", 1795397400, "abcdefghijklmnop")
    expected = hmac.new(
        b"s3cret",
        f"GET\n/his/v1/x\n1795397400\nabcdefghijklmnop\n{EMPTY_SHA256}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert headers == {
        "X-Shuxin-Timestamp": "1795397400",
        "X-Shuxin-Nonce": "abcdefghijklmnop",
        "X-Shuxin-Signature": expected,
    }


def test_the_hospital_header_is_added_when_the_code_is_given():
    headers = sign_request("s", "GET", "/", b"", 1, "n" * 16, hospital_code="H1")
    assert headers["X-Shuxin-Hospital"] == "H1"


@given(st.binary(max_size=64), st.binary(min_size=1, max_size=8))
def test_any_change_to_the_body_breaks_the_signature(body, extra):
    canonical = canonical_request("POST", "/p", 1, "n" * 16, body)
    signature = compute_signature("secret", canonical)
    assert signature_matches("secret", canonical, signature)
    tampered = canonical_request("POST", "/p", 1, "n" * 16, body + extra)
    assert not signature_matches("secret", tampered, signature)


def test_a_signature_with_non_ascii_characters_is_simply_wrong():
    assert not signature_matches("secret", "x", "签名" * 16)


def test_fresh_nonces_are_valid_and_distinct():
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(NONCE_PATTERN.fullmatch(n) for n in nonces)


def test_a_hospital_secret_depends_on_the_deployment_key_the_code_and_the_salt():
    base = derive_secret("key", "H1", "salt")
    assert base == derive_secret("key", "H1", "salt")
    assert len(base) == 64
    assert base != derive_secret("other-key", "H1", "salt")
    assert base != derive_secret("key", "H2", "salt")
    assert base != derive_secret("key", "H1", "salt2")


def test_codes_are_six_digits_and_need_the_key_to_render():
    codes = [login_code("key", new_code_salt()) for _ in range(200)]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) > 150
    assert login_code("key", "salt") == login_code("key", "salt")
    assert login_code("key", "salt") != login_code("other-key", "salt")


def test_code_and_phone_digests_hide_the_values_and_need_the_key():
    assert "123456" not in code_hash("key", "13800138000", "123456")
    assert code_hash("key", "13800138000", "123456") != code_hash("k2", "13800138000", "123456")
    assert code_hash("key", "13800138000", "123456") != code_hash("key", "13900139000", "123456")
    assert phone_digest("key", "13800138000") != phone_digest("k2", "13800138000")


def test_a_masked_phone_keeps_only_the_first_three_and_last_four_digits():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("123") == "***"
