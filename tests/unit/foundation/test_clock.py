from datetime import UTC, datetime, timedelta

import pytest

from settlement.foundation.clock import AdjustableClock


def test_the_sandbox_clock_moves_forward_only():
    start = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    clock = AdjustableClock(frozen_at=start)
    assert clock.advance(timedelta(hours=72)) == start + timedelta(hours=72)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == start + timedelta(hours=72)
