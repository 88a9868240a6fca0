"""Every due bill handled once: across a restart, under two sweeps at once, by two schedulers."""

from __future__ import annotations

from functools import partial

import pytest

from settlement.billing.credit_tables import CreditDecisionRow
from settlement.bootstrap import bootstrap
from settlement.messages.tables import OutboxMessage
from settlement.scheduler import Scheduler, run_due, sweep_overdue, sweep_reminders
from settlement.scheduler.tables import ScheduledAction
from tests.integration.scheduler.support import actions, bill, bill_for, count, outbox
from tests.races import run_together


def enrol_with_bills(service, his, patients: int) -> list[str]:
    bills = []
    for _ in range(patients):
        person, _ = service.enrol()
        bills.append(bill_for(service, his, person))
        service.advance(hours=1)
    return bills


def assert_each_once(service, bills: list[str], kinds: set[str]) -> None:
    rows = actions(service)
    assert len(rows) == len(set((b, k) for b, k, _ in rows))
    for kind in kinds:
        done = sorted(b for b, k, outcome in rows if k == kind and outcome == "done")
        assert done == sorted(bills), kind


def test_a_scheduler_restarted_after_the_deadlines_handles_every_due_bill_once(service, his):
    bills = enrol_with_bills(service, his, 4)
    first = Scheduler(service.container)
    assert first.tick() is not None
    first.stop()  # down between sweeps
    service.advance(hours=100)
    second = Scheduler(service.container)
    report = second.tick()
    assert report is not None
    assert sorted(report.ids("overdue")) == sorted(bills)
    assert second.tick().ids("overdue") == []
    second.stop()
    assert_each_once(service, bills, {"remind_close", "overdue"})
    assert {bill(service, b).status for b in bills} == {"overdue"}
    assert count(service, CreditDecisionRow.id, CreditDecisionRow.event == "bill_overdue") == 4
    assert len(outbox(service, kind="overdue")) == 8  # SMS and push each


def test_two_sweeps_at_once_make_each_bill_overdue_once(service, his):
    bills = enrol_with_bills(service, his, 6)
    service.advance(hours=100)
    now = service.clock.now()
    first, second = run_together([partial(sweep_overdue, service.container, now)] * 2)
    assert sorted(first.ids + second.ids) == sorted(bills)
    assert_each_once(service, bills, {"overdue"})
    assert count(service, CreditDecisionRow.id, CreditDecisionRow.event == "bill_overdue") == 6
    assert count(service, OutboxMessage.id, OutboxMessage.kind == "overdue") == 12


def test_two_reminder_sweeps_at_once_remind_each_bill_once(service, his):
    bills = enrol_with_bills(service, his, 6)
    now = service.clock.now()
    run_together([partial(sweep_reminders, service.container, now)] * 2)
    assert count(service, ScheduledAction.id, ScheduledAction.kind == "remind_close") == 6
    assert count(service, OutboxMessage.id, OutboxMessage.kind == "remind_close") == 12
    assert len(bills) == 6


@pytest.mark.postgres
def test_two_schedulers_started_together_on_postgresql_duplicate_nothing(
    postgres_only, service, his
):
    bills = enrol_with_bills(service, his, 8)
    engines = [postgres_only.make_engine() for _ in range(2)]
    try:
        # Two processes' worth: their own engines and pools, one shared (sandbox) clock.
        containers = [
            bootstrap(
                service.container.settings,
                engine=engine,
                clock=service.clock,
                real_clock=service.clock,
            )
            for engine in engines
        ]
        run_together([partial(run_due, c) for c in containers])  # leaderless: the worst case
        service.advance(hours=100)
        run_together([partial(run_due, c) for c in containers])
        schedulers = [Scheduler(c) for c in containers]
        reports = run_together([s.tick for s in schedulers])
        assert sum(r is not None for r in reports) == 1  # one leads, the other follows
        for scheduler in schedulers:
            scheduler.stop()
    finally:
        for engine in engines:
            engine.dispose()
    assert_each_once(service, bills, {"remind_close", "overdue"})
    assert count(service, OutboxMessage.id, OutboxMessage.kind == "remind_close") == 16
    assert count(service, OutboxMessage.id, OutboxMessage.kind == "overdue") == 16
    assert count(service, CreditDecisionRow.id, CreditDecisionRow.event == "bill_overdue") == 8
