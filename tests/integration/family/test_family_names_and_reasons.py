"""A manager knows whom they look after: names in full, the payments they made, why they are
frozen."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from settlement.messages.tables import OutboxMessage
from settlement.scheduler import run_due
from tests.harness import Service
from tests.integration.family.support import charge, close, credit, make_family


def _masked(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)


def test_a_manager_sees_their_relatives_names_in_full_a_relative_sees_the_manager_masked(
    service: Service,
) -> None:
    family = make_family(service)

    as_manager = family.get("/v1/family/members", family.manager_auth).json()
    as_relative = family.get("/v1/family/members", family.relative_auth).json()

    assert [m["psn_name"] for m in as_manager["relatives"]] == [family.relative.psn_name]
    assert [m["psn_name"] for m in as_relative["managers"]] == [_masked(family.manager.psn_name)]
    assert "*" in as_manager["relatives"][0]["certno"]  # the ID number stays masked


def test_a_managers_reminder_names_the_relative_in_full(service: Service) -> None:
    family = make_family(service)
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, "20.00")
    close(family.his, mdtrt_id)

    run_due(service.container)

    with service.container.uow() as uow:
        bodies = uow.session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.psn_no == family.manager.psn_no,
                OutboxMessage.kind == "remind_close",
            )
        ).all()
    assert bodies
    assert all(f"您的亲属{family.relative.psn_name}" in body for body in bodies)


def test_the_manager_who_paid_can_read_the_payment(service: Service) -> None:
    family = make_family(service, manager_balc="0.00")
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, "40.00")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    paid = family.post(f"/v1/bills/{bill_id}/payments", family.manager_auth, {"wallet": "wechat"})
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["payment"]["payment_id"]

    as_manager = family.get(f"/v1/payments/{payment_id}", family.manager_auth)
    as_relative = family.get(f"/v1/payments/{payment_id}", family.relative_auth)
    stranger, _ = service.enrol()
    as_stranger = family.get(f"/v1/payments/{payment_id}", service.login(stranger))

    assert as_manager.status_code == 200, as_manager.text
    assert as_manager.json()["bill_id"] == bill_id
    assert as_relative.status_code == 200, as_relative.text
    assert as_stranger.status_code == 404


def test_a_manager_frozen_by_a_relatives_overdue_bill_is_told_why(service: Service) -> None:
    family = make_family(service)
    own = Decimal(credit(service, family.relative_auth)["available"])
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, f"{own + 5:.2f}")
    close(family.his, mdtrt_id)
    before = credit(service, family.manager_auth)["reasons"]
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 73}).status_code == 200
    assert service.client.post("/sandbox/v1/scheduler/run").status_code == 200

    frozen = credit(service, family.manager_auth)

    assert frozen["status"] == "frozen"
    first = frozen["reasons"][0]
    assert first["code"] == "relative_overdue"
    assert "亲属" in first["zh"]
    assert "overdue" in first["en"]
    assert frozen["reasons"][1:] == before  # the scorecard's reasons still follow
