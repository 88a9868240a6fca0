from __future__ import annotations

import pytest

from tests.harness import build_service


@pytest.fixture
def service(engine):
    # The sweeps act on bills that wait for the patient: with an empty personal account a bill
    # leaves a part to the wallet (one the insurance accounts cover settles when it is made).
    svc = build_service(engine, account_balance="0.00")
    svc.add_hospital("H3", level=3)
    return svc


@pytest.fixture
def his(service):
    return service.hospitals["H3"]
