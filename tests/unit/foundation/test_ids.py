"""Ids are logged: none may read as a phone or an ID number to the log's net."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from api.logs import looks_sensitive
from settlement.foundation import ids

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def test_an_id_is_prefix_date_and_twelve_hex_digits() -> None:
    made = ids.new_id("MD", NOW)
    assert made.startswith("MD20261203")
    assert len(made) == len("MD20261203") + 12
    int(made[-12:], 16)


def test_randomness_that_reads_as_a_phone_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: Iterator[str] = iter(["a13912345678", "0123456789ab"])
    monkeypatch.setattr(ids.secrets, "token_hex", lambda _: next(draws))
    assert looks_sensitive("MD20261203A13912345678")  # what the first draw would have made
    assert ids.new_id("MD", NOW) == "MD202612030123456789AB"


def test_no_id_of_many_looks_sensitive() -> None:
    assert not any(looks_sensitive(ids.new_id("B", NOW)) for _ in range(20_000))
