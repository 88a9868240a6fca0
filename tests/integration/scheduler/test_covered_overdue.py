"""A bill the insurance accounts cover whose settlement is being retried (the platform failed at
close) is never overdue while it waits: the patient owes ¥0.00 from the wallet and the failure is
the platform's. Set aside by the retry (the wallet now has a part), it is due again, no sooner
than the policy's ``min_notice`` (24 h) after that."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from settlement.billing.credit_tables import CreditDecisionRow
from settlement.scheduler import run_due
from tests.integration.payments.support import HEALTH_ADVICE, bill_row, settlements
from tests.integration.payments.support import bill_for as charged_bill
from tests.integration.payments.test_covered_at_close import events
from tests.integration.payments.test_covered_retries import DownPlatform, close_while_down
from tests.integration.scheduler.support import actions, count, outbox

D = Decimal


def credit_status(his, psn_no: str) -> str:
    return his.get(f"/his/v1/patients/{psn_no}/credit").json()["status"]


def overdue_events(service, psn_no: str) -> int:
    return count(
        service,
        CreditDecisionRow.id,
        CreditDecisionRow.psn_no == psn_no,
        CreditDecisionRow.event == "bill_overdue",
    )


def run_while_down(service, monkeypatch):
    with monkeypatch.context() as down:
        down.setattr(service.container, "insurance_platform", DownPlatform)
        return run_due(service.container)


def test_a_covered_bill_is_not_overdue_while_the_platform_fails_and_settles_once_it_answers(
    service, his, monkeypatch
):
    person, _, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]
    owing, _ = service.enrol(balc="0.00")  # a bill the wallet owes, in the same sweeps
    owed_id, _ = charged_bill(his, owing.psn_no, (HEALTH_ADVICE, "30", "1"))

    service.advance(hours=73)  # past both deadlines, the platform failing throughout
    for made_overdue in ([owed_id], []):
        run = run_while_down(service, monkeypatch)
        assert run.ids("overdue") == made_overdue
        assert bill_row(service, bill_id).status == "billed"
        assert run.sweeps["settle_covered"].counts == {"error": 1}  # retried in the next tick
        service.advance(hours=1)

    assert bill_row(service, bill_id).status == "billed"
    assert bill_row(service, bill_id).overdue_at is None
    assert (bill_id, "overdue", "done") not in actions(service)
    assert credit_status(his, person.psn_no) != "frozen"
    assert his.open_visit(person.psn_no).status_code == 201  # the line still serves
    assert overdue_events(service, person.psn_no) == 0
    assert outbox(service, kind="overdue", psn_no=person.psn_no) == []
    # The bill the wallet owes went overdue as ever.
    assert bill_row(service, owed_id).status == "overdue"
    assert credit_status(his, owing.psn_no) == "frozen"
    assert overdue_events(service, owing.psn_no) == 1

    recovered = run_due(service.container)

    assert recovered.sweeps["settle_covered"].ids == [bill_id]
    assert recovered.ids("overdue") == []
    assert bill_row(service, bill_id).status == "settled"
    assert len(settlements(service, bill_id)) == 1
    service.advance(hours=80)
    run_due(service.container)
    assert (bill_id, "overdue", "done") not in actions(service)
    assert overdue_events(service, person.psn_no) == 0
    assert credit_status(his, person.psn_no) != "frozen"


def test_a_covered_bill_set_aside_after_its_deadline_is_due_a_full_notice_later(
    service, his, monkeypatch
):
    person, _, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]
    service.advance(hours=73)
    run_while_down(service, monkeypatch)
    assert bill_row(service, bill_id).status == "billed"  # waiting, past its deadline
    with service.container.uow() as uow:  # another settlement spends the account meanwhile
        service.container.insurance_platform(uow.session).debit_personal_account(
            person.psn_no, D("90.00")
        )
        uow.commit()
    service.advance(hours=1)
    set_aside_at = service.clock.now()

    run = run_due(service.container)

    assert run.sweeps["settle_covered"].counts == {"waits": 1}
    assert (bill_id, "settle_covered", "skipped") in actions(service)
    # Not overdue in the tick that first asks the patient to pay: due min_notice (24 h) later.
    assert run.ids("overdue") == []
    row = bill_row(service, bill_id)
    assert (row.status, row.due_at) == ("billed", set_aside_at + timedelta(hours=24))
    assert events(service, bill_id)[-1] == ("due_moved", "billed", "billed")
    told = outbox(service, kind="due_moved", psn_no=person.psn_no)
    assert sorted(m.channel for m in told) == ["push", "sms"]
    assert all("¥110.00" in m.body and "24" in m.body for m in told), [m.body for m in told]
    assert credit_status(his, person.psn_no) != "frozen"

    service.advance(hours=23, minutes=59)
    assert run_due(service.container).ids("overdue") == []
    service.advance(minutes=1)
    assert run_due(service.container).ids("overdue") == [bill_id]
    assert bill_row(service, bill_id).status == "overdue"
    assert credit_status(his, person.psn_no) == "frozen"
    assert overdue_events(service, person.psn_no) == 1


def test_a_covered_bill_set_aside_well_before_its_deadline_keeps_it(service, his, monkeypatch):
    person, _, _, answer = close_while_down(service, his, monkeypatch)
    bill_id = answer["bill_id"]
    due_at = bill_row(service, bill_id).due_at
    with service.container.uow() as uow:
        service.container.insurance_platform(uow.session).debit_personal_account(
            person.psn_no, D("90.00")
        )
        uow.commit()

    assert run_due(service.container).sweeps["settle_covered"].counts == {"waits": 1}

    assert bill_row(service, bill_id).due_at == due_at
    assert outbox(service, kind="due_moved") == []
    service.clock.advance(due_at - service.clock.now())
    assert run_due(service.container).ids("overdue") == [bill_id]
