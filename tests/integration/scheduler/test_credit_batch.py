"""The overdue sweep's set-based credit writes give what ``record_event`` and
``repayment_history`` give one patient at a time."""

from __future__ import annotations

from sqlalchemy import select

from credit.events import BillOverdue
from settlement.billing.credit_records import CreditRepository, to_decision
from settlement.billing.history import decision_facts, repayment_histories, repayment_history
from settlement.billing.tables import Bill
from settlement.scheduler import run_due
from settlement.usecases.credit.decisions import record_event
from settlement.usecases.overdue import DUE_BILL_COLUMNS, due_bill, freeze_lines
from tests.integration.scheduler.support import bill_for


def test_batched_histories_equal_the_one_patient_history(service, his):
    early, _ = service.enrol()
    late, _ = service.enrol()
    bill_for(service, his, early)
    bill_for(service, his, late)
    service.advance(hours=72)
    run_due(service.container)  # both overdue
    with service.container.uow() as uow:
        now = service.clock.now()
        batched = repayment_histories(uow.session, [early.psn_no, late.psn_no], now=now)
        for person in (early, late):
            assert batched[person.psn_no] == repayment_history(
                uow.session, psn_no=person.psn_no, now=now
            )
        assert batched[early.psn_no].overdue_unpaid == 1


def test_the_latest_decision_read_with_the_history_are_those_read_apart(service, his):
    """A repayment's credit event reads the decision and the bills in one statement."""
    overdue, _ = service.enrol()
    without_bills, _ = service.enrol()
    bill_for(service, his, overdue)
    bill_for(service, his, overdue)
    service.advance(hours=72)
    run_due(service.container)  # both overdue: a decision more
    with service.container.uow() as uow:
        session, now = uow.session, service.clock.now()
        for person in (overdue, without_bills):
            found = decision_facts(session, psn_no=person.psn_no, now=now)
            assert found is not None
            latest = CreditRepository(session).latest_decision_row(person.psn_no)
            assert latest is not None and found.latest.seq == latest.seq
            assert to_decision(found.latest) == to_decision(latest)
            assert found.history == repayment_history(session, psn_no=person.psn_no, now=now)
        assert repayment_history(session, psn_no=overdue.psn_no, now=now).overdue_unpaid == 2
        assert decision_facts(session, psn_no="371400000000nobody", now=now) is None


def test_the_batched_freeze_writes_the_decision_record_event_would(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person)
    service.advance(hours=72)
    container = service.container
    with container.uow() as uow:
        session = uow.session
        session.execute(select(Bill).where(Bill.bill_id == bill_id)).scalar_one().status = "overdue"
        session.flush()
        history = repayment_history(session, psn_no=person.psn_no, now=service.clock.now())
        expected = record_event(
            session,
            config=container.credit_config,
            clock=service.clock,
            psn_no=person.psn_no,
            event=BillOverdue(bill_id),
            history=history,
        )
        uow.rollback()
    with container.uow() as uow:
        session = uow.session
        row = session.execute(select(*DUE_BILL_COLUMNS).where(Bill.bill_id == bill_id)).one()
        session.execute(select(Bill).where(Bill.bill_id == bill_id)).scalar_one().status = "overdue"
        session.flush()
        assert (
            freeze_lines(
                session,
                policy=container.credit_config.policy,
                bills=[due_bill(row)],
                now=service.clock.now(),
            )
            == 1
        )
        written = CreditRepository(session).latest_decision(person.psn_no)
    assert written == expected
    assert written.status == "frozen"
