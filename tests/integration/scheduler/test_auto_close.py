"""A visit left open closes itself at the end of its local day, however late the sweep runs.

The harness starts at 2026-11-23 09:30 in Dezhou (Asia/Shanghai); the scheme closes visits at
23:59 local and gives 72 hours to pay, and never less than 24 hours' notice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from settlement.billing.tables import Visit
from settlement.scheduler import run_due
from settlement.usecases.charging.visits import bill_of_visit
from tests.harness import START
from tests.integration.scheduler.support import HEALTH_ADVICE, actions, bill, outbox

#: 2026-11-23 23:59:00 in Dezhou: the end of the harness's first day.
END_OF_DAY = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)
WINDOW = timedelta(hours=72)


def open_and_charge(his, person) -> str:
    opened = his.open_visit(person.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    assert his.charge(mdtrt_id, (HEALTH_ADVICE, "20.00", "1")).status_code == 201
    return mdtrt_id


def move_to(service, moment: datetime) -> None:
    service.clock.advance(moment - service.clock.now())


def visit(service, mdtrt_id: str) -> Visit:
    with service.container.uow() as uow:
        row = uow.session.get(Visit, mdtrt_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def bill_of(service, mdtrt_id: str) -> str:
    with service.container.uow() as uow:
        found = bill_of_visit(uow.session, mdtrt_id)
        assert found is not None
        return found.bill_id


@pytest.mark.parametrize(
    "late",
    [timedelta(seconds=40), timedelta(hours=27, minutes=2, seconds=5)],
    ids=["on_time", "a_day_late"],
)
def test_a_self_closed_visit_is_closed_at_the_end_of_its_day_and_due_72_hours_after(
    service, his, late
):
    person, _ = service.enrol()
    mdtrt_id = open_and_charge(his, person)
    move_to(service, END_OF_DAY + late)  # a day late: 2026-11-25 03:01:05 local

    report = run_due(service.container)

    assert report.ids("auto_close") == [mdtrt_id]
    closed = visit(service, mdtrt_id)
    assert (closed.status, closed.closed_by, closed.closed_at) == ("closed", "auto", END_OF_DAY)
    bill_id = bill_of(service, mdtrt_id)
    row = bill(service, bill_id)
    assert row.closed_at == END_OF_DAY
    assert row.due_at == row.closed_at + WINDOW
    # The HIS and the patient read the same moments, in local time.
    his_view = his.get(f"/his/v1/visits/{mdtrt_id}").json()
    assert his_view["closed_at"] == "2026-11-23T23:59:00+08:00"
    mine = service.client.get(f"/v1/bills/{bill_id}", headers=service.login(person)).json()
    assert (mine["closed_at"], mine["due_at"]) == (
        "2026-11-23T23:59:00+08:00",
        "2026-11-26T23:59:00+08:00",
    )
    # Told at once; overdue at that deadline, not a second later than it.
    assert report.sweeps["reminders"].counts == {"remind_close": 1}
    move_to(service, row.due_at - timedelta(seconds=1))
    assert run_due(service.container).ids("overdue") == []
    move_to(service, row.due_at)
    assert run_due(service.container).ids("overdue") == [bill_id]


def test_a_visit_the_his_closes_keeps_the_his_close_time_even_after_midnight(service, his):
    person, _ = service.enrol()
    during_the_day = open_and_charge(his, person)
    left_open = open_and_charge(his, person)
    service.advance(hours=1, minutes=7, seconds=3)
    first = his.post(f"/his/v1/visits/{during_the_day}/close").json()
    first_closed = service.clock.now()
    # The scheduler was down at 23:59; the HIS closes the other visit at 00:30:07 the next day.
    move_to(service, END_OF_DAY + timedelta(minutes=31, seconds=7))
    second = his.post(f"/his/v1/visits/{left_open}/close").json()
    second_closed = service.clock.now()

    assert run_due(service.container).ids("auto_close") == []

    for mdtrt_id, answer, moment in (
        (during_the_day, first, first_closed),
        (left_open, second, second_closed),
    ):
        closed = visit(service, mdtrt_id)
        assert (closed.closed_by, closed.closed_at) == ("his", moment)
        row = bill(service, answer["bill_id"])
        assert (row.closed_at, row.due_at) == (moment, moment + WINDOW)
    assert second["closed_at"] == "2026-11-24T00:30:07+08:00"
    assert second["due_at"] == "2026-11-27T00:30:07+08:00"


def test_a_visit_swept_after_its_deadline_is_reminded_first_and_overdue_only_after_the_notice(
    service, his
):
    person, _ = service.enrol()
    mdtrt_id = open_and_charge(his, person)
    # The scheduler was down until 2026-11-27 10:00 local: past 11-26 23:59, the deadline.
    move_to(service, START + timedelta(days=4, minutes=30))
    now = service.clock.now()

    report = run_due(service.container)

    assert report.ids("auto_close") == [mdtrt_id]
    bill_id = bill_of(service, mdtrt_id)
    row = bill(service, bill_id)
    assert row.closed_at == END_OF_DAY  # when the visit ended, all the same
    assert row.due_at == now + timedelta(hours=24)  # the policy's minimum notice
    assert report.ids("overdue") == []
    assert row.status == "billed"
    assert report.sweeps["reminders"].counts == {"remind_24h": 1}
    assert {(m.kind, m.channel) for m in outbox(service, psn_no=person.psn_no)} == {
        ("remind_24h", "sms"),
        ("remind_24h", "push"),
    }
    credit = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert credit["status"] == "active"

    # Then the normal schedule: the 2-hour reminder, and overdue at the deadline.
    move_to(service, row.due_at - timedelta(hours=2))
    assert run_due(service.container).sweeps["reminders"].counts == {"remind_2h": 1}
    move_to(service, row.due_at - timedelta(seconds=1))
    assert run_due(service.container).ids("overdue") == []
    move_to(service, row.due_at)
    assert run_due(service.container).ids("overdue") == [bill_id]
    assert sorted(actions(service)) == [
        (bill_id, "overdue", "done"),
        (bill_id, "remind_24h", "done"),
        (bill_id, "remind_2h", "done"),
        (bill_id, "remind_close", "skipped"),
    ]


def test_a_late_self_close_leaves_the_reconciliation_of_both_days_balanced(service, his):
    person, _ = service.enrol()
    open_and_charge(his, person)
    move_to(service, END_OF_DAY + timedelta(hours=12))
    visit_day = his.get("/his/v1/reconciliation?date=2026-11-23").json()
    assert visit_day["balanced"] and visit_day["bills_closed"]["count"] == 0

    move_to(service, END_OF_DAY + timedelta(hours=27, minutes=2, seconds=5))
    assert len(run_due(service.container).ids("auto_close")) == 1

    # A past day's report does not change; the bill counts on the day it was made and its
    # charges were posted in the ledger.
    assert his.get("/his/v1/reconciliation?date=2026-11-23").json() == visit_day
    sweep_day = his.get("/his/v1/reconciliation?date=2026-11-25").json()
    assert sweep_day["balanced"], sweep_day["mismatches"]
    assert sweep_day["bills_closed"] == {"count": 1, "amount": "20.00"}
