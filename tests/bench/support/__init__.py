"""What the benchmarks share: counting SQL statements, the apps the API benchmark serves, the
default database."""

from __future__ import annotations

import os

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def default_postgres() -> str:
    """``SHUXIN_TEST_DATABASE_URL`` if set, else the local server; ``--postgres ""`` skips it."""
    return os.environ.get("SHUXIN_TEST_DATABASE_URL") or DEFAULT_POSTGRES


POSTGRES_HELP = (
    f"PostgreSQL URL (default: SHUXIN_TEST_DATABASE_URL, else {DEFAULT_POSTGRES}); '' for none"
)
