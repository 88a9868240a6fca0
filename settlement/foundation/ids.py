"""Identifiers handed to callers: a readable prefix, the UTC date, and randomness."""

from __future__ import annotations

import secrets
from datetime import datetime


def new_id(prefix: str, now: datetime) -> str:
    """``MD20261123A1B2C3D4E5F6``: prefix, date of issue, 12 random hex digits."""
    return f"{prefix}{now:%Y%m%d}{secrets.token_hex(6).upper()}"
