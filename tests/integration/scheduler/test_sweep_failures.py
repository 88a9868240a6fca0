"""One bad row never stops a sweep: the item is skipped, recorded (once per attempt, without
personal data), logged at ERROR and counted; the sweep goes on with the rest (issue 17, item 1)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select, update

from settlement.billing.tables import Bill, Visit
from settlement.foundation.metrics import SWEEP_ITEM_FAILURES
from settlement.foundation.sweep_failures import SweepFailure
from settlement.scheduler import run_due, sweeps
from tests.integration.scheduler.support import HEALTH_ADVICE, bill_for

#: 2026-11-24 00:30 in Dezhou: past the end of the harness's first day.
AFTER_THE_DAY = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)


def failures(service) -> list[tuple[str, str, str, str]]:
    with service.container.uow() as uow:
        rows = uow.session.execute(
            select(
                SweepFailure.sweep,
                SweepFailure.item_id,
                SweepFailure.error_class,
                SweepFailure.message,
            ).order_by(SweepFailure.id)
        )
        return [tuple(row) for row in rows]


def open_visit(his, person) -> str:
    opened = his.open_visit(person.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    assert his.charge(mdtrt_id, (HEALTH_ADVICE, "20.00", "1")).status_code == 201
    return mdtrt_id


def poison(service, mdtrt_id: str) -> None:
    """A visit dated before any policy: pricing it raises ``NoPolicyInForceError``."""
    with service.container.uow() as uow:
        uow.session.execute(
            update(Visit)
            .where(Visit.mdtrt_id == mdtrt_id)
            .values(begntime=datetime(1970, 1, 1, tzinfo=UTC))
        )
        uow.commit()


def status(service, model, key: str) -> str:
    with service.container.uow() as uow:
        row = uow.session.get(model, key)
        assert row is not None
        return str(row.status)


def failed_count(sweep: str, error: str) -> float:
    return SWEEP_ITEM_FAILURES.labels(sweep, error)._value.get()


def test_a_visit_whose_policy_lookup_raises_does_not_stop_the_visits_after_it_closing(
    service, his, caplog
):
    people = [service.enrol()[0] for _ in range(3)]
    opened = []
    for person in people:
        opened.append(open_visit(his, person))
        # Opened a minute apart: the sweep closes the oldest first, and on the frozen clock all
        # three were the same age, so their order was whatever order PostgreSQL found the rows
        # in (where a row lies moves with updates and the vacuum).
        service.advance(minutes=1)
    poisoned, *others = opened  # poisoned opened first
    poison(service, poisoned)
    service.clock.advance(AFTER_THE_DAY - service.clock.now())
    counted = failed_count("auto_close", "NoPolicyInForceError")

    with caplog.at_level(logging.ERROR, logger="shuxin.scheduler"):
        report = run_due(service.container)

    assert report.ids("auto_close") == others
    assert [status(service, Visit, m) for m in others] == ["closed", "closed"]
    assert status(service, Visit, poisoned) == "open"
    recorded = failures(service)
    assert [(sweep, item, error) for sweep, item, error, _ in recorded] == [
        ("auto_close", poisoned, "NoPolicyInForceError")
    ]
    message = recorded[0][3]
    assert all(person.psn_no not in message and person.psn_name not in message for person in people)
    assert failed_count("auto_close", "NoPolicyInForceError") == counted + 1
    alerts = [
        r for r in caplog.records if r.levelno == logging.ERROR and poisoned in r.getMessage()
    ]
    assert len(alerts) == 1

    # The next run tries it again and records the second attempt; nothing else is redone.
    again = run_due(service.container)
    assert again.ids("auto_close") == []
    assert [item for _, item, _, _ in failures(service)] == [poisoned, poisoned]


def test_a_bill_that_cannot_be_made_overdue_does_not_keep_the_others_from_it(
    service, his, monkeypatch
):
    people = [service.enrol()[0] for _ in range(3)]
    bills = []
    for person in people:  # due an hour apart: swept in this order
        bills.append(bill_for(service, his, person))
        service.advance(hours=1)
    poisoned = bills[1]
    real = sweeps.mark_overdue

    def mark_overdue(session, *, bills, **collaborators):
        if any(bill.bill_id == poisoned for bill in bills):
            raise RuntimeError("credit platform answered 37140219800501123X")
        return real(session, bills=bills, **collaborators)

    monkeypatch.setattr(sweeps, "mark_overdue", mark_overdue)
    service.advance(hours=72)

    report = run_due(service.container)

    assert report.ids("overdue") == [bills[0], bills[2]]
    assert [status(service, Bill, b) for b in bills] == ["overdue", "billed", "overdue"]
    assert failures(service) == [
        ("overdue", poisoned, "RuntimeError", "credit platform answered #X")
    ]
    run_due(service.container)
    assert len(failures(service)) == 2  # once per attempt


def test_operators_list_the_failures_newest_first_with_the_admin_token(service, his):
    person, _ = service.enrol()
    poisoned = open_visit(his, person)
    poison(service, poisoned)
    service.clock.advance(AFTER_THE_DAY - service.clock.now())
    run_due(service.container)

    assert service.client.get("/admin/v1/scheduler/failures").status_code == 401
    listed = service.client.get(
        "/admin/v1/scheduler/failures", params={"sweep": "auto_close"}, headers=service.admin
    )
    assert listed.status_code == 200, listed.text
    [failure] = listed.json()
    assert failure["sweep"] == "auto_close"
    assert failure["item_id"] == poisoned
    assert failure["error_class"] == "NoPolicyInForceError"
    assert failure["failed_at"] == "2026-11-24T00:30:00+08:00"
    assert person.psn_no not in listed.text
    other = service.client.get(
        "/admin/v1/scheduler/failures", params={"sweep": "overdue"}, headers=service.admin
    )
    assert other.json() == []


def test_the_console_lists_the_failures_for_an_operator(service, his):
    from tests.integration.api.test_console import logged_in

    person, _ = service.enrol()
    poisoned = open_visit(his, person)
    poison(service, poisoned)
    service.clock.advance(AFTER_THE_DAY - service.clock.now())
    run_due(service.container)
    client = logged_in(service)

    page = client.get("/admin/sweeps")

    assert page.status_code == 200, page.text
    assert poisoned in page.text and "NoPolicyInForceError" in page.text
    assert 'data-testid="nav-sweeps"' in page.text
    assert poisoned not in client.get("/admin/sweeps?q=overdue").text
    assert poisoned in client.get("/admin/sweeps?lang=en&q=auto_close").text
