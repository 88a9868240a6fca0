"""Shared credit: a relative's charges draw on their own line first, then on their managers'.

A fee line is held as one pending transfer on the relative's line (``hold:{mdtrt}:{sn}``), or,
when the relative's available credit runs out, split: the rest goes on the first manager's line
(``hold:{mdtrt}:{sn}:shared``), then the next (``…:shared:2``), in link order (oldest accepted
first). The whole batch is one linked ledger batch: every hold or none. When the patient has
sharing managers, every account the batch touches is locked in ledger id order (PostgreSQL) before
reading what is available, so two charges on the same family at two hospitals queue instead of
overspending or deadlocking; without managers nothing needs planning and the ledger alone checks
the limit under its lock. The ledger's own limit check always refuses any overspend. Each line
can only ever use what its own account has, so the family's exposure never exceeds the sum of the
lines. Holds credit the visit's own sales account (``settlement.ledger.chart``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from insurance.money import ZERO, from_fen, to_fen
from insurance.pricing import PricedLine
from settlement.billing.credit_line import line_account, line_balances
from settlement.billing.family_standing import frozen_by_family
from settlement.billing.family_tables import ACTIVE, FamilyLink, SharedHold
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.foundation.clock import Clock
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import InsurancePlatform
from settlement.foundation.scheme import SchemePolicy
from settlement.ledger import chart
from settlement.ledger.errors import AccountNotFound, ExceedsCredits, LinkedEventFailed
from settlement.ledger.ledger import (
    Account,
    TransferRequest,
    create_transfers_with_balances,
    open_account,
)
from settlement.ledger.tables import LedgerAccount
from settlement.usecases.credit.decisions import CreditConfig, credit_standing
from settlement.usecases.family.rebalance import shared_hold_id
from settlement.usecases.family.waterfall import (
    Charge,
    Part,
    Shortfall,
    Source,
    carried_by,
    decide_waterfall,
    repayment_shares,
)

EMPLOYEE_INSURANCE = "310"


class SharingContext(Protocol):
    """What sharing a line uses: the clock, the credit configuration, the scheme's family policy
    and the insurance platform (the process's ``Container`` is one)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def credit_config(self) -> CreditConfig: ...

    @property
    def scheme(self) -> SchemePolicy: ...

    @property
    def insurance_platform(self) -> Callable[[Session], InsurancePlatform]: ...


class VisitRef(Protocol):
    """What the holds need of a visit: a mapped ``Visit`` or a charge's ``ChargedVisit``."""

    @property
    def mdtrt_id(self) -> str: ...

    @property
    def psn_no(self) -> str: ...


def sharing_links(session: Session, relative_psn_no: str) -> list[FamilyLink]:
    """The relative's active links, in the fixed order their managers' lines are drawn on."""
    return list(session.scalars(_SHARING_LINKS, {"relative": relative_psn_no}))


#: Built once: every charge asks which managers' lines it may draw on.
_SHARING_LINKS = (
    select(FamilyLink)
    .where(FamilyLink.relative_psn_no == bindparam("relative"), FamilyLink.status == ACTIVE)
    .order_by(FamilyLink.accepted_at, FamilyLink.link_id)
)


def manager_may_share(container: SharingContext, session: Session, manager_psn_no: str) -> bool:
    """Whether the manager's line may carry a relative's charges now (eligible, active, not
    frozen by another relative's overdue shared bill)."""
    person = container.insurance_platform(session).lookup_person(manager_psn_no)
    if person is None or person.insutype != EMPLOYEE_INSURANCE or not person.insured_active:
        return False
    standing = credit_standing(
        session, manager_psn_no, config=container.credit_config, clock=container.clock
    )
    if standing.status != "active":
        return False
    return not (
        container.scheme.family.freeze_shared_on_overdue
        and frozen_by_family(session, manager_psn_no)
    )


def _usable_links(container: SharingContext, session: Session, psn_no: str) -> list[FamilyLink]:
    return [
        link
        for link in sharing_links(session, psn_no)
        if manager_may_share(container, session, link.manager_psn_no)
    ]


def combined_available(container: SharingContext, session: Session, psn_no: str) -> Decimal:
    """The patient's own available credit plus what their sharing managers' lines have left."""
    own = line_balances(session, psn_no).available
    links = _usable_links(container, session, psn_no)
    if not links:
        return own
    shared = sum(
        (max(line_balances(session, link.manager_psn_no).available, ZERO) for link in links),
        ZERO,
    )
    return max(own, ZERO) + shared


def lock_lines(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Lock the ledger accounts ``codes`` in id order (PostgreSQL; SQLite writers are serial) and
    return what each may still debit, in fen, by code. One statement: the lock and the read."""
    query = (
        select(LedgerAccount.code, _AVAILABLE_DEBIT)
        .where(LedgerAccount.code.in_(sorted(set(codes))))
        .order_by(LedgerAccount.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        # FOR UPDATE without joins: PostgreSQL re-checks only the row itself after a wait.
        query = query.with_for_update()
    return {code: int(fen) for code, fen in session.execute(query)}


def lines_available(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """What each line account in ``codes`` may still debit, in fen (one read, no lock)."""
    rows = session.execute(_LINES_AVAILABLE, {"codes": sorted(set(codes))})
    return {code: int(fen) for code, fen in rows}


#: What a line account may still debit (``Account.available_debit``), in fen.
_AVAILABLE_DEBIT = (
    LedgerAccount.credits_posted - LedgerAccount.debits_posted - LedgerAccount.debits_pending
)
#: Built once: every charge reads what its lines have left.
_LINES_AVAILABLE = select(LedgerAccount.code, _AVAILABLE_DEBIT).where(
    LedgerAccount.code.in_(bindparam("codes", expanding=True))
)


def open_visit_sales(session: Session, mdtrt_id: str) -> None:
    """Open the visit's sales account (when the visit opens; see :mod:`settlement.ledger.chart`)."""
    open_account(session, code=chart.visit_sales(mdtrt_id), kind=chart.VISIT_SALES_KIND)


def hold_batch(
    session: Session,
    *,
    container: SharingContext,
    visit: VisitRef,
    priced: Sequence[PricedLine],
    has_sharing_links: bool = True,
) -> Decimal:
    """Hold every priced line on the patient's line, then the managers' lines; all or none.

    The caller holds the visit's row lock (the hold ids derive from it). Returns the combined
    available credit after the holds (:func:`combined_available`). ``has_sharing_links=False``:
    the caller read that the patient has no active links, so they are not read again.

    Raises:
        ServiceError: ``insufficient_credit`` with the combined ``available`` and ``requested``.
    """
    links = _usable_links(container, session, visit.psn_no) if has_sharing_links else []
    own = chart.patient_line(visit.psn_no)
    manager_lines = [chart.patient_line(link.manager_psn_no) for link in links]
    requested_fen = sum(to_fen(line.det_item_fee_sumamt) for line in priced)
    if links:
        holds, shared_rows = _plan_shared(
            session, container=container, visit=visit, links=links, priced=priced
        )
    else:
        # No family: every line on the patient's own line. Nothing needs reading first: the
        # ledger checks the limit under its row lock and refuses the whole batch if it is short.
        holds = own_line_holds(visit, priced)
        shared_rows = []
    try:
        after = _create_holds(session, container=container, visit=visit, holds=holds)
    except (ExceedsCredits, LinkedEventFailed) as error:
        cause = error.error if isinstance(error, LinkedEventFailed) else error
        if not isinstance(cause, ExceedsCredits):
            raise
        available = combined_available(container, session, visit.psn_no)
        raise _insufficient(from_fen(requested_fen), available) from None
    if shared_rows:
        session.add_all(shared_rows)
        session.flush()
    # The lines the holds debited were read under the ledger's locks; only a line the batch did
    # not touch (a manager's, or the patient's own when it had nothing left) is read here.
    left = {code: to_fen(account.available_debit) for code, account in after.items()}
    untouched = [code for code in (own, *manager_lines) if code not in left]
    if untouched:
        left.update(lines_available(session, untouched))
    own_left = from_fen(left.get(own, 0))
    if not links:
        return own_left
    shared_left = sum(max(left.get(code, 0), 0) for code in manager_lines)
    return max(own_left, ZERO) + from_fen(shared_left)


def own_line_holds(visit: VisitRef, priced: Sequence[PricedLine]) -> list[TransferRequest]:
    """The holds of a batch drawn on the patient's own line alone, one per fee line."""
    own = chart.patient_line(visit.psn_no)
    sales = chart.visit_sales(visit.mdtrt_id)
    return [
        TransferRequest(
            id=f"hold:{visit.mdtrt_id}:{line.feedetl_sn}",
            kind="pending",
            debit_account=own,
            credit_account=sales,
            amount=line.det_item_fee_sumamt,
            code="hold",
            reference=visit.mdtrt_id,
        )
        for line in priced
    ]


def _create_holds(
    session: Session, *, container: SharingContext, visit: VisitRef, holds: list[TransferRequest]
) -> dict[str, Account]:
    """Create the holds; returns the accounts they touched as they left them, by code."""

    def create() -> dict[str, Account]:
        # The hold ids derive from the visit and its lines, and the caller holds the visit's row
        # lock (``post_fees``), so no concurrent writer can take them: no savepoint is needed.
        return create_transfers_with_balances(
            session, holds, clock=container.clock, ids_locked=True
        )[1]

    try:
        return create()
    except (AccountNotFound, LinkedEventFailed) as error:
        cause = error.error if isinstance(error, LinkedEventFailed) else error
        if not isinstance(cause, AccountNotFound):
            raise
        # A visit opened before visits had their own sales account: open it, then hold.
        open_visit_sales(session, visit.mdtrt_id)
        line_account(session, visit.psn_no)
        return create()


def _plan_shared(
    session: Session,
    *,
    container: SharingContext,
    visit: VisitRef,
    links: Sequence[FamilyLink],
    priced: Sequence[PricedLine],
) -> tuple[list[TransferRequest], list[SharedHold]]:
    """Split the batch over the patient's line, then the managers' lines, under their locks."""
    sales = chart.visit_sales(visit.mdtrt_id)
    codes = [sales, chart.patient_line(visit.psn_no)]
    codes += [chart.patient_line(link.manager_psn_no) for link in links]
    available = lock_lines(session, codes)
    if len(available) < len(set(codes)):
        open_visit_sales(session, visit.mdtrt_id)
        line_account(session, visit.psn_no)
        for link in links:
            line_account(session, link.manager_psn_no)
        available = lock_lines(session, codes)
    own_line = chart.patient_line(visit.psn_no)
    sources = [Source(visit.psn_no, 0, None, available[own_line])]
    sources += [
        Source(
            link.manager_psn_no,
            rank,
            link.link_id,
            available[chart.patient_line(link.manager_psn_no)],
        )
        for rank, link in enumerate(links, start=1)
    ]
    charges = [Charge(line.feedetl_sn, to_fen(line.det_item_fee_sumamt)) for line in priced]
    parts = decide_waterfall(charges, sources)
    if isinstance(parts, Shortfall):
        raise _insufficient(from_fen(parts.requested_fen), from_fen(parts.available_fen))
    return _shared_writes(visit, parts, now=container.clock.now())


def _shared_writes(
    visit: VisitRef, parts: Sequence[Part], *, now: datetime
) -> tuple[list[TransferRequest], list[SharedHold]]:
    """The waterfall's parts as holds (own line: ``hold:…``, shared: ``…:shared[:rank]``) and
    the ``shared_holds`` rows of the shared ones."""
    sales = chart.visit_sales(visit.mdtrt_id)
    holds: list[TransferRequest] = []
    shared_rows: list[SharedHold] = []
    for part in parts:
        source = part.source
        if source.link_id is None:
            transfer_id = f"hold:{visit.mdtrt_id}:{part.feedetl_sn}"
        else:
            transfer_id = shared_hold_id(visit.mdtrt_id, part.feedetl_sn, source.rank)
            shared_rows.append(
                SharedHold(
                    transfer_id=transfer_id,
                    mdtrt_id=visit.mdtrt_id,
                    feedetl_sn=part.feedetl_sn,
                    relative_psn_no=visit.psn_no,
                    manager_psn_no=source.psn_no,
                    link_id=source.link_id,
                    amount_fen=part.amount_fen,
                    rank=source.rank,
                    created_at=now,
                )
            )
        holds.append(
            TransferRequest(
                id=transfer_id,
                kind="pending",
                debit_account=chart.patient_line(source.psn_no),
                credit_account=sales,
                amount=from_fen(part.amount_fen),
                code="hold_shared" if part.shared else "hold",
                reference=visit.mdtrt_id,
            )
        )
    return holds, shared_rows


def _insufficient(requested: Decimal, available: Decimal) -> ServiceError:
    return ServiceError(
        "insufficient_credit",
        f"the batch needs {requested:.2f} but only {available:.2f} of credit is available",
        available=f"{available:.2f}",
        requested=f"{requested:.2f}",
    )


# -- the holds of existing lines -----------------------------------------------------------------


def shared_holds(session: Session, mdtrt_id: str) -> dict[str, list[SharedHold]]:
    """The shared holds of a visit, by ``feedetl_sn``."""
    rows = session.scalars(
        select(SharedHold).where(SharedHold.mdtrt_id == mdtrt_id).order_by(SharedHold.rank)
    )
    by_line: dict[str, list[SharedHold]] = {}
    for row in rows:
        by_line.setdefault(row.feedetl_sn, []).append(row)
    return by_line


def line_hold_ids(line: FeeLine, shared: Sequence[SharedHold]) -> list[str]:
    """Every pending transfer holding ``line``: its own part (if any), then the shared parts."""
    own_fen = line.det_item_fee_sumamt_fen - sum(row.amount_fen for row in shared)
    ids = [line.hold_transfer_id] if own_fen > 0 else []
    return ids + [row.transfer_id for row in shared]


def line_shares(line: FeeLine, shared: Sequence[SharedHold]) -> list[tuple[str, int]]:
    """Which patient's line carries how many fen of ``line`` (own first); sums to the line."""
    return carried_by(line.visit.psn_no, line.det_item_fee_sumamt_fen, shared)


def bill_line_shares(
    session: Session,
    bill: Bill,
    *,
    statuses: Sequence[str] = ("billed",),
    shared: Mapping[str, list[SharedHold]] | None = None,
) -> list[tuple[str, Decimal]]:
    """What a repayment of ``bill`` must credit back to each patient's line (own line first).

    The amounts sum to the bill's lines in ``statuses``; a bill that never drew on a manager has
    one share, the patient's own. Repayments and refunds credit ``patient:{psn_no}:line`` by
    these shares so each line gets back exactly what it carried. ``shared``: the visit's
    :func:`shared_holds` when the caller read them with its facts (else they are read here).
    """
    visit = session.get_one(Visit, bill.mdtrt_id)
    if shared is None:
        shared = shared_holds(session, bill.mdtrt_id)
    lines = [
        (line.det_item_fee_sumamt_fen, shared.get(line.feedetl_sn, []))
        for line in visit.fees
        if line.status in statuses
    ]
    return [(psn_no, from_fen(fen)) for psn_no, fen in repayment_shares(bill.psn_no, lines)]
