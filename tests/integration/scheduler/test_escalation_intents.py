"""Reporting an overdue bill to the credit platform, intent first: the intent is committed before
the platform is called, and an outcome never learnt is resolved on a later run without a second
report (issue 18: outside calls resolve unknown outcomes, never move anything twice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from settlement.adapters.sandbox_tables import SandboxInsuredPerson
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.db import READS_ONLY
from settlement.foundation.ports import CreditReport, OverdueReport
from settlement.foundation.sweep_failures import SweepFailure
from settlement.scheduler import ScheduledAction, run_due
from tests.integration.scheduler.support import actions, bill_for, count, outbox


def committed_intents(service) -> list[tuple[str, str]]:
    """(bill_id, outcome) of the ``escalate`` actions committed, read beside the sweep's
    transaction (on SQLite, without queueing for the write lock it holds)."""
    connection = service.container.engine.connect().execution_options(**{READS_ONLY: True})
    with connection:
        query = select(ScheduledAction.bill_id, ScheduledAction.outcome).where(
            ScheduledAction.kind == "escalate"
        )
        return [(bill_id, outcome) for bill_id, outcome in connection.execute(query)]


@dataclass
class OutsidePlatform:
    """A credit platform outside our database: what it receives survives our rollbacks. It keeps
    one report per bill, as the port says; ``cut``: the answer is lost after the report arrived
    (a timeout), which the caller sees as an error."""

    service: object
    reports: dict[str, OverdueReport] = field(default_factory=dict)
    calls: int = 0
    cut: bool = False
    seen_intents: list[list[tuple[str, str]]] = field(default_factory=list)

    def __call__(self, session: object) -> OutsidePlatform:
        return self

    def rating(self, certno: str) -> CreditReport | None:
        return None

    def report_overdue(self, report: OverdueReport) -> bool:
        self.calls += 1
        # What another connection sees while the report is being sent.
        self.seen_intents.append(committed_intents(self.service))
        fresh = report.bill_id not in self.reports
        self.reports.setdefault(report.bill_id, report)
        if self.cut:
            raise TimeoutError("the credit platform did not answer")
        return fresh


def overdue_for_a_week(service, his) -> str:
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=72)
    run_due(service.container)  # overdue now
    service.advance(days=7)
    return bill_id


def test_the_intent_to_report_is_committed_before_the_platform_is_called(service, his):
    bill_id = overdue_for_a_week(service, his)
    platform = OutsidePlatform(service)
    service.container.credit_platform = platform

    assert run_due(service.container).ids("escalate") == [bill_id]

    assert platform.seen_intents == [[(bill_id, "reporting")]]
    assert actions(service, "escalate") == [(bill_id, "escalate", "done")]
    assert list(platform.reports) == [bill_id]


def test_a_report_whose_answer_was_lost_is_resolved_later_and_never_sent_twice(service, his):
    bill_id = overdue_for_a_week(service, his)
    platform = OutsidePlatform(service, cut=True)
    service.container.credit_platform = platform

    assert run_due(service.container).ids("escalate") == []
    # The platform has the report; we do not know it: the intent stands, nothing else was written.
    assert list(platform.reports) == [bill_id]
    assert actions(service, "escalate") == [(bill_id, "escalate", "reporting")]
    assert count(service, BillEvent.id, BillEvent.kind == "escalated") == 0
    assert outbox(service, kind="escalate") == []
    assert count(service, SweepFailure.id, SweepFailure.sweep == "escalate") >= 1

    platform.cut = False
    service.advance(hours=1)
    run = run_due(service.container)

    assert run.ids("escalate") == [bill_id]
    assert run.sweeps["escalate"].counts == {"already_reported": 1}
    assert len(platform.reports) == 1
    # The report carries the intent's time, not the retry's.
    assert platform.reports[bill_id].reported_at == service.clock.now() - timedelta(hours=1)
    assert actions(service, "escalate") == [(bill_id, "escalate", "done")]
    assert count(service, BillEvent.id, BillEvent.kind == "escalated") == 1
    assert len(outbox(service, kind="escalate")) == 2  # push and SMS, once

    calls = platform.calls
    service.advance(days=3)
    assert run_due(service.container).ids("escalate") == []
    assert platform.calls == calls


def test_a_patient_insurance_no_longer_knows_is_not_reported_and_not_tried_again(service, his):
    bill_id = overdue_for_a_week(service, his)
    platform = OutsidePlatform(service)
    service.container.credit_platform = platform
    with service.container.uow() as uow:
        psn_no = uow.session.scalar(select(Bill.psn_no).where(Bill.bill_id == bill_id))
        uow.session.delete(uow.session.get(SandboxInsuredPerson, psn_no))
        uow.commit()

    assert run_due(service.container).ids("escalate") == []
    service.advance(days=1)
    assert run_due(service.container).ids("escalate") == []

    assert platform.calls == 0
    assert actions(service, "escalate") == [(bill_id, "escalate", "skipped")]
