"""Credit service fixtures: the seeded configuration, a frozen clock and the demo persons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from settlement.adapters.sandbox_tables import load_demo_persons
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.usecases.credit import CreditConfig, load_credit_config

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


@pytest.fixture(scope="session")
def credit_config() -> CreditConfig:
    return load_credit_config(SEEDS)


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(frozen_at=datetime(2026, 3, 1, 1, 30, tzinfo=UTC))


@pytest.fixture
def demo_uow(uow_factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """The ``uow_factory`` with the demo insured persons loaded."""
    with uow_factory() as uow:
        load_demo_persons(uow.session, SEEDS / "demo" / "insured_persons.csv")
        uow.commit()
    return uow_factory
