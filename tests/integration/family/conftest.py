from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.harness import Service, build_service


@pytest.fixture
def service(engine: Engine) -> Service:
    return build_service(engine)
