"""Only one scheduler leads: a lease on SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from settlement.bootstrap import bootstrap
from settlement.scheduler import AdvisoryLockLeadership, LeaseLeadership, Scheduler


def test_on_a_lease_a_second_scheduler_waits_and_takes_over_when_the_lease_lapses(service):
    lease = timedelta(minutes=3)
    first = LeaseLeadership(service.container, lease=lease, leader_id="first")
    second = LeaseLeadership(service.container, lease=lease, leader_id="second")
    assert first.try_lead()
    assert not second.try_lead()
    service.advance(minutes=2)
    assert first.try_lead()  # renewed
    service.advance(minutes=2)
    assert not second.try_lead()
    service.advance(minutes=2)  # the first stopped renewing: it died
    assert second.try_lead()
    assert not first.try_lead()


def test_a_stopped_scheduler_gives_the_lead_up_at_once(service):
    first = Scheduler(service.container)
    second = Scheduler(service.container)
    assert first.tick() is not None
    assert second.tick() is None
    first.stop()
    assert second.tick() is not None
    second.stop()


@pytest.mark.postgres
def test_on_postgresql_a_second_scheduler_leads_only_when_the_first_connection_dies(
    postgres_only, service
):
    settings = service.container.settings
    engine = postgres_only.make_engine()
    try:
        other = bootstrap(settings, engine=engine, clock=service.clock, real_clock=service.clock)
        first = AdvisoryLockLeadership(service.container, leader_id="first")
        second = AdvisoryLockLeadership(other, leader_id="second")
        assert first.try_lead()
        assert not second.try_lead()
        assert first.try_lead()  # still alive, still leading
        pid = first.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with engine.connect() as killer:
            # The timeout makes it wait until the backend is gone and its lock released.
            killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        assert second.try_lead()
        assert not first.try_lead()  # notices its connection is gone, and does not lead
        second.release()
        assert first.try_lead()
        first.release()
    finally:
        engine.dispose()
