"""Composition root: builds the engine, the units of work, the clock and the adapters once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from insurance.policy import PolicyBook, load_policies
from settlement.access.hospitals import KnownHospitals
from settlement.adapters.sandbox import SandboxCreditPlatform, SandboxInsurancePlatform
from settlement.adapters.wallets import SandboxWallet, WalletFactory
from settlement.foundation.clock import Clock, MovableClock, SystemClock
from settlement.foundation.config import Settings
from settlement.foundation.db import make_engine, make_session_factory
from settlement.foundation.ports import CreditPlatform, InsurancePlatform
from settlement.foundation.sandbox_clock import DatabaseClock
from settlement.foundation.scheme import SchemePolicy, load_scheme
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.messages.adapters import (
    PushGateway,
    SandboxPushGateway,
    SandboxSmsGateway,
    SmsGateway,
)
from settlement.usecases.credit.decisions import CreditConfig, load_credit_config


@dataclass
class Container:
    """Everything a request handler or a scheduled job needs, built once per process.

    The platforms are factories over the caller's session: the sandbox ones read the sandbox
    tables in the same transaction; a real platform adapter would ignore the session.
    """

    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    #: Business time: deadlines, sweeps, visit days, reminders, policy years. The sandbox's
    #: test clock moves it (``POST /sandbox/v1/clock/advance``).
    clock: Clock
    #: The wall clock, which nothing moves: authentication (signature timestamps, nonces, login
    #: codes, tokens, rate limits) and the scheduler's leases.
    real_clock: Clock = field(default_factory=SystemClock)
    insurance_platform: Callable[[Session], InsurancePlatform] = SandboxInsurancePlatform
    credit_platform: Callable[[Session], CreditPlatform] = SandboxCreditPlatform
    #: Wallet providers by name ("wechat", "alipay"), bound to the caller's session.
    wallets: WalletFactory = SandboxWallet
    sms_gateway: Callable[[Session], SmsGateway] = SandboxSmsGateway
    push_gateway: Callable[[Session], PushGateway] = SandboxPushGateway

    @property
    def sandbox_clock(self) -> MovableClock | None:
        """The test clock, if business time can be moved (sandbox mode)."""
        return self.clock if isinstance(self.clock, MovableClock) else None

    @cached_property
    def known_hospitals(self) -> KnownHospitals:
        return KnownHospitals()

    @cached_property
    def policies(self) -> PolicyBook:
        return load_policies(self.settings.seeds_dir / "policies")

    @cached_property
    def credit_config(self) -> CreditConfig:
        return load_credit_config(self.settings.seeds_dir)

    @cached_property
    def scheme(self) -> SchemePolicy:
        return load_scheme(self.settings.seeds_dir / "scheme.toml")


def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    real_clock: Clock | None = None,
) -> Container:
    """Wire the service for ``settings``; tests pass their own engine and clocks.

    Business time is the wall clock in production; in sandbox mode it is the test clock stored
    in the database (:class:`DatabaseClock`), shared by every process and kept across restarts.

    The reference data (policies, scorecard, agreements, scheme) is read here, so a broken seed
    file stops start-up with its own message instead of failing the first request.
    """
    engine = engine if engine is not None else make_engine(settings.database_url)
    real_clock = real_clock or SystemClock()
    if clock is None:
        clock = DatabaseClock(engine, wall=real_clock) if settings.is_sandbox else real_clock
    container = Container(
        settings=settings,
        engine=engine,
        uow=UnitOfWorkFactory(make_session_factory(engine)),
        clock=clock,
        real_clock=real_clock,
    )
    _ = container.policies, container.credit_config, container.scheme
    return container
