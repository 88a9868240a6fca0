"""Fixtures for the ledger's integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from settlement.foundation.clock import AdjustableClock


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(frozen_at=datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
