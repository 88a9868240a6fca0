"""A relative's overdue shared bill freezes their family's managers, and nobody else."""

from __future__ import annotations

from decimal import Decimal

from settlement.usecases.charging.facts import visits_for_charges
from tests.harness import Service
from tests.integration.family.support import charge, close, credit, make_family


def test_another_familys_overdue_shared_bill_does_not_mark_a_patients_visit_frozen(
    service: Service,
) -> None:
    family = make_family(service)
    own = Decimal(credit(service, family.relative_auth)["available"])
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, f"{own + 5:.2f}")
    close(family.his, mdtrt_id)
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 71}).status_code == 200
    managers_visit = family.his.open_visit(family.manager.psn_no).json()["mdtrt_id"]
    stranger, _ = service.enrol()
    strangers_visit = family.his.open_visit(stranger.psn_no).json()["mdtrt_id"]
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 2}).status_code == 200
    assert service.client.post("/sandbox/v1/scheduler/run").status_code == 200
    assert credit(service, family.manager_auth)["status"] == "frozen"

    with service.container.uow() as uow:
        facts = visits_for_charges(uow.session, [managers_visit, strangers_visit], [])

    # The manager's charges read the bills that freeze them; the stranger's have none to read
    # (a batch marked frozen leaves its group for the single path, which reads them).
    assert facts[managers_visit].frozen_by_family
    assert not facts[strangers_visit].frozen_by_family
