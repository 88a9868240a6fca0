"""Charging a visit (2204) and cancelling a line (2205): each one transaction of the caller's.

A charge reads its facts (``facts``), is decided in pure code (``decide``, the same function a
group of charges uses), then holds its lines on the ledger and writes them (``write``). Nothing
here commits: the caller's unit of work does, once.

The entry points take the process's collaborators as one ``container`` argument typed by what
charging uses (:class:`ChargingContext`: the clock, the policies, the scheme, the settings, the
credit configuration and the insurance platform); everything below them receives those
explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from insurance.money import from_fen
from insurance.policy import PolicyBook
from settlement.access.hospitals import Hospital
from settlement.billing.credit_line import line_balances
from settlement.billing.tables import Bill, Visit
from settlement.foundation.config import Settings
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging.decide import (
    ChargeRules,
    FeeBatch,
    FeeBatchResult,
    FeeRequest,
    decide_fee_batch,
)
from settlement.usecases.charging.facts import ACTIVE_STATUSES, read_batch_facts, visit_of
from settlement.usecases.charging.write import insert_fee_lines, void_line_holds
from settlement.usecases.family import sharing as family_credit
from settlement.usecases.family.rebalance_write import forget_shared_parts, rebalance_holds
from settlement.usecases.family.sharing import SharingContext


class ChargingContext(SharingContext, Protocol):
    """What charging uses of the process: the sharing collaborators, the insurance policies and
    the settings (the time zone visit days are counted in)."""

    @property
    def policies(self) -> PolicyBook: ...

    @property
    def settings(self) -> Settings: ...


@dataclass(frozen=True)
class VisitState:
    """A visit with its lines, its total on hold and the patient's available credit."""

    visit: Visit
    medfee_sumamt: Decimal
    available: Decimal
    bill: Bill | None = None


def charge_rules(container: ChargingContext) -> ChargeRules:
    """The rules a batch is decided by, now."""
    return ChargeRules(
        now=container.clock.now(),
        max_ahead=container.scheme.max_ahead,
        policies=container.policies,
        timezone=container.settings.timezone,
        freeze_shared_on_overdue=container.scheme.family.freeze_shared_on_overdue,
    )


def post_fees(
    uow: UnitOfWork,
    *,
    container: ChargingContext,
    hospital: Hospital,
    mdtrt_id: str,
    chrg_bchno: str,
    fees: Sequence[FeeRequest],
) -> FeeBatchResult:
    """Post one charge batch (2204): every line held against the line, or none."""
    session = uow.session
    batch = FeeBatch(hospital.code, mdtrt_id, chrg_bchno, fees)
    rules = charge_rules(container)
    facts = read_batch_facts(
        session,
        batch=batch,
        insurance=container.insurance_platform(session),
        config=container.credit_config,
        clock=container.clock,
    )
    plan = decide_fee_batch(batch, facts, rules)
    if isinstance(plan, ServiceError):
        raise plan
    # Holds go on the patient's own line first, then on their family managers' lines.
    available = family_credit.hold_batch(
        session,
        container=container,
        visit=plan.facts.visit,
        priced=plan.priced,
        has_sharing_links=plan.facts.has_sharing_links,
    )
    # One multi-row INSERT; the answer is built from what is known, not read back.
    insert_fee_lines(session, plan.rows)
    return plan.answer(available=available)


def cancel_fee(
    uow: UnitOfWork,
    *,
    container: ChargingContext,
    hospital: Hospital,
    mdtrt_id: str,
    feedetl_sn: str,
) -> VisitState:
    """Cancel one line of an open visit (2205), releasing its hold."""
    session = uow.session
    visit = visit_of(session, hospital, mdtrt_id, lock=True)
    if visit.status != "open":
        raise ServiceError("visit_closed", f"visit {mdtrt_id} is closed")
    line = next((f for f in visit.fees if f.feedetl_sn == feedetl_sn), None)
    if line is None or line.status != "held":
        raise ServiceError("not_found", f"no held fee line {feedetl_sn} in visit {mdtrt_id}")
    now = container.clock.now()
    shared = family_credit.shared_holds(session, visit.mdtrt_id)
    void_line_holds(
        session,
        mdtrt_id=visit.mdtrt_id,
        lines=[line],
        shared=shared,
        clock=container.clock,
        now=now,
    )
    if shared.pop(line.feedetl_sn, None):
        forget_shared_parts(session, mdtrt_id=visit.mdtrt_id, feedetl_sns=[line.feedetl_sn])
    # The relative's own line first, after a cancellation too: what the cancelled line freed on
    # it takes back what the visit's other lines hold on their managers' lines.
    rebalance_holds(session, visit=visit, shared=shared, clock=container.clock, now=now)
    return VisitState(
        visit=visit,
        medfee_sumamt=visit_total(visit),
        available=line_balances(session, visit.psn_no).available,
    )


def visit_total(visit: Visit) -> Decimal:
    """The visit's lines that count (held or billed), in yuan."""
    return from_fen(
        sum(line.det_item_fee_sumamt_fen for line in visit.fees if line.status in ACTIVE_STATUSES)
    )
