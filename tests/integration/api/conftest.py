"""What the API tests share: the service with a level-3 hospital (H3) and a level-1 one (H1)."""

from __future__ import annotations

import pytest

from tests.harness import Service, build_service


@pytest.fixture
def service(engine) -> Service:
    svc = build_service(engine)
    svc.add_hospital("H3", level=3)
    svc.add_hospital("H1", level=1)
    return svc
