"""A remote insurance platform for the intent tests: the sandbox on a connection of its own
(its movements stand whatever becomes of ours), with faults planned call by call."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from insurance.money import from_fen
from settlement.adapters.sandbox import PlatformFaults, SandboxInsurancePlatform
from settlement.adapters.sandbox_tables import SandboxAccountMovement
from settlement.billing.movement_tables import AccountMovementIntent
from settlement.scheduler.movements import GRACE, sweep_account_movements
from tests.harness import Service


def remote_platform(service: Service, monkeypatch: pytest.MonkeyPatch) -> PlatformFaults:
    """Make the service's insurance platform a remote one; its planned faults."""
    faults = PlatformFaults()
    monkeypatch.setattr(
        service.container,
        "insurance_platform",
        lambda session: SandboxInsurancePlatform(session, remote=True, faults=faults),
    )
    return faults


def platform_movements(service: Service, psn_no: str) -> list[tuple[str, str, Decimal]]:
    """What the platform moved on ``psn_no``'s account: (key, direction, amount), in key order."""
    with service.container.uow() as uow:
        rows = uow.session.execute(
            select(
                SandboxAccountMovement.key,
                SandboxAccountMovement.direction,
                SandboxAccountMovement.amount_fen,
            )
            .where(SandboxAccountMovement.psn_no == psn_no)
            .order_by(SandboxAccountMovement.key)
        )
        return [(key, direction, from_fen(fen)) for key, direction, fen in rows]


def net_moved(service: Service, psn_no: str) -> Decimal:
    """The platform's net movement of the account: credits − debits."""
    return sum(
        (
            amount if way == "credit" else -amount
            for _, way, amount in platform_movements(service, psn_no)
        ),
        Decimal("0.00"),
    )


def intents(service: Service, bill_id: str) -> dict[str, str]:
    """The bill's recorded movements: key → state."""
    with service.container.uow() as uow:
        rows = uow.session.execute(
            select(AccountMovementIntent.key, AccountMovementIntent.state).where(
                AccountMovementIntent.bill_id == bill_id
            )
        )
        return {key: state for key, state in rows}


def sweep_after_grace(service: Service):
    """The movements sweep, once the grace of a pending movement has passed."""
    service.clock.advance(GRACE + timedelta(minutes=1))
    return sweep_account_movements(service.container, service.clock.now())
