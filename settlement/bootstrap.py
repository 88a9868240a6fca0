"""Composition root: builds the engine, the units of work, the clock and the adapters once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from settlement.clock import AdjustableClock, Clock, SystemClock
from settlement.config import Settings
from settlement.db import make_engine, make_session_factory
from settlement.unit_of_work import UnitOfWorkFactory


@dataclass
class Container:
    """Everything a request handler or a scheduled job needs, built once per process."""

    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    clock: Clock

    @property
    def sandbox_clock(self) -> AdjustableClock | None:
        return self.clock if isinstance(self.clock, AdjustableClock) else None


def bootstrap(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> Container:
    """Wire the service for ``settings``; tests pass their own engine and clock."""
    engine = engine if engine is not None else make_engine(settings.database_url)
    if clock is None:
        clock = AdjustableClock() if settings.is_sandbox else SystemClock()
    return Container(
        settings=settings,
        engine=engine,
        uow=UnitOfWorkFactory(make_session_factory(engine)),
        clock=clock,
    )
