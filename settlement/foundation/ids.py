"""Identifiers handed to callers: a readable prefix, the UTC date, and randomness."""

from __future__ import annotations

import secrets
from datetime import datetime

from credit.identity import looks_like_personal_number


def new_id(prefix: str, now: datetime) -> str:
    """``MD20261123A1B2C3D4E5F6``: prefix, date of issue, 12 random hex digits.

    About one id in 2,500 would hold eleven decimal digits reading as a mobile number
    (``…A13912345678``); ids are logged, and the log's net would mask it as a phone, so such
    randomness is drawn again.
    """
    while True:
        made = f"{prefix}{now:%Y%m%d}{secrets.token_hex(6).upper()}"
        if not looks_like_personal_number(made):
            return made
