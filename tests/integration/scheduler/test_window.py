"""The 72-hour window over time: reminders, overdue at the deadline, escalation, auto-close."""

from __future__ import annotations

from datetime import timedelta

from settlement.adapters.sandbox_tables import SandboxCreditReportRow
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.billing.tables import Visit
from settlement.scheduler import run_due
from tests.integration.scheduler.support import actions, bill, bill_for, count, outbox


def test_an_unpaid_bill_is_not_overdue_at_71_hours_59_minutes_and_is_at_72_hours(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=71, minutes=59)
    report = run_due(service.container)
    assert report.ids("overdue") == []
    assert bill(service, bill_id).status == "billed"

    service.advance(minutes=1)
    report = run_due(service.container)
    assert report.ids("overdue") == [bill_id]
    overdue = bill(service, bill_id)
    assert overdue.status == "overdue"
    assert overdue.overdue_at == service.clock.now() == overdue.due_at
    credit = his.get(f"/his/v1/patients/{person.psn_no}/credit").json()
    assert credit["status"] == "frozen"
    refused = his.open_visit(person.psn_no)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "credit_frozen"


def test_overdue_records_one_credit_event_and_tells_the_patient_once(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=80)
    for _ in range(3):
        run_due(service.container)
    assert actions(service, "overdue") == [(bill_id, "overdue", "done")]
    assert count(service, CreditDecisionRow.id, CreditDecisionRow.event == "bill_overdue") == 1
    told = outbox(service, kind="overdue")
    assert {(m.psn_no, m.channel) for m in told} == {
        (person.psn_no, "sms"),
        (person.psn_no, "push"),
    }
    assert len(told) == 2


def test_reminders_go_at_close_24_hours_and_2_hours_before_the_deadline_once_each(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    kinds_sent = []
    for hours in (0, 1, 47, 48, 49, 69, 70, 71):
        service.clock.advance(timedelta(hours=hours) - service.clock.offset)
        kinds_sent.append(sorted(run_due(service.container).sweeps["reminders"].counts))
    assert kinds_sent == [
        ["remind_close"],
        [],
        [],
        ["remind_24h"],
        [],
        [],
        ["remind_2h"],
        [],
    ]
    assert sorted(k for _, k, _ in actions(service)) == ["remind_24h", "remind_2h", "remind_close"]
    assert len(outbox(service, psn_no=person.psn_no)) == 6  # three reminders, SMS and push
    assert bill(service, bill_id).status == "billed"


def test_after_downtime_only_the_latest_reminder_due_is_sent(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=71)
    run_due(service.container)
    run_due(service.container)
    assert sorted(actions(service)) == [
        (bill_id, "remind_24h", "skipped"),
        (bill_id, "remind_2h", "done"),
        (bill_id, "remind_close", "skipped"),
    ]
    assert {m.kind for m in outbox(service)} == {"remind_2h"}


def test_a_paid_or_empty_bill_gets_no_reminder_and_never_goes_overdue(service, his):
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    empty = his.post(f"/his/v1/visits/{mdtrt_id}/close").json()["bill_id"]
    service.advance(hours=100)
    run_due(service.container)
    assert bill(service, empty).status == "settled"
    assert actions(service) == []
    # Only what closing it told (it owes nothing: issue 16 item 4), nothing from the sweeps.
    assert sorted((m.kind, m.channel) for m in outbox(service)) == [
        ("settled_by_insurance", "push"),
        ("settled_by_insurance", "sms"),
    ]


def test_an_overdue_bill_is_reported_to_the_credit_platform_once_after_the_policy_days(
    service, his
):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=72)
    run_due(service.container)
    service.advance(days=7, seconds=-1)
    assert run_due(service.container).ids("escalate") == []
    service.advance(seconds=1)
    assert run_due(service.container).ids("escalate") == [bill_id]
    service.advance(days=3)
    assert run_due(service.container).ids("escalate") == []
    assert count(service, SandboxCreditReportRow.id, SandboxCreditReportRow.bill_id == bill_id) == 1
    assert len(outbox(service, kind="escalate")) == 2


def test_a_visit_left_open_closes_itself_at_the_end_of_its_local_day(service, his):
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    his.charge(mdtrt_id, ("001110000010000", "20.00", "1"))
    # Opened 09:30 in Dezhou; the scheme closes visits at 23:59 local.
    service.advance(hours=14, minutes=28)
    assert run_due(service.container).ids("auto_close") == []
    service.advance(minutes=1)
    report = run_due(service.container)
    assert report.ids("auto_close") == [mdtrt_id]
    with service.container.uow() as uow:
        visit = uow.session.get(Visit, mdtrt_id)
        assert (visit.status, visit.closed_by) == ("closed", "auto")
    # The bill it closed into got its at-close reminder in the same run.
    assert report.sweeps["reminders"].counts == {"remind_close": 1}


def test_expired_idempotency_keys_nonces_and_codes_are_forgotten(service, his):
    person, _ = service.enrol()
    his.open_visit(person.psn_no)
    service.advance(days=8)
    counts = run_due(service.container).sweeps["expiry"].counts
    assert counts["idempotency_keys"] >= 1
    assert counts["nonces"] >= 1
