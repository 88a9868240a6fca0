"""Helpers for the scheduler tests: bills made through the HIS API, rows counted directly."""

from __future__ import annotations

from sqlalchemy import func, select

from settlement.billing.tables import Bill
from settlement.messages.tables import OutboxMessage
from settlement.scheduler.tables import ScheduledAction

HEALTH_ADVICE = "001110000010000"  # class C: the whole line is self-pay


def bill_for(service, his, person, amount: str = "12.30") -> str:
    """Open, charge ``amount`` (class C) and close a visit; returns the bill id."""
    opened = his.open_visit(person.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    charged = his.charge(mdtrt_id, (HEALTH_ADVICE, amount, "1"))
    assert charged.status_code == 201, charged.text
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code == 200, closed.text
    return closed.json()["bill_id"]


def bill(service, bill_id: str) -> Bill:
    with service.container.uow() as uow:
        row = uow.session.get(Bill, bill_id)
        assert row is not None
        uow.session.expunge(row)  # keep its loaded values after the read-only rollback
        return row


def actions(service, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(bill_id, kind, outcome) of every scheduled action, optionally of one kind."""
    with service.container.uow() as uow:
        query = select(ScheduledAction.bill_id, ScheduledAction.kind, ScheduledAction.outcome)
        if kind is not None:
            query = query.where(ScheduledAction.kind == kind)
        return [tuple(row) for row in uow.session.execute(query)]


def outbox(service, *, kind: str | None = None, psn_no: str | None = None) -> list[OutboxMessage]:
    with service.container.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        if psn_no is not None:
            query = query.where(OutboxMessage.psn_no == psn_no)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
        return rows


def count(service, column, *where) -> int:
    with service.container.uow() as uow:
        return int(uow.session.scalar(select(func.count(column)).where(*where)) or 0)
