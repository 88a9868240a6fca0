from __future__ import annotations

import pytest

from tests.harness import build_service


@pytest.fixture
def service(engine):
    svc = build_service(engine)
    svc.add_hospital("H3", level=3)
    svc.add_hospital("H1", level=1)
    return svc


@pytest.fixture
def his(service):
    return service.hospitals["H3"]
