"""A pending payment's outcome: the wallet paid (the settlement posts, the bill settles, the line
returns) or failed (everything reserved goes back).

The one path for the provider's callback (``callbacks``), for the answer to a query
(``settlement.scheduler.wallet_orders``) and for the sandbox's direct confirmations; every
function runs in the caller's unit of work and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.foundation.writes import Write, updated
from settlement.usecases.paying import facts, write
from settlement.usecases.paying.context import PayingContext


def confirm_payment(uow: UnitOfWork, *, container: PayingContext, setl_id: str) -> BillSettlement:
    """Post a pending settlement (the wallet paid): the bill settles and the line returns."""
    bill, record = _locked_pending(uow.session, setl_id)
    settle(uow.session, container, bill, record, now=container.clock.now())
    return record


def fail_payment(uow: UnitOfWork, *, container: PayingContext, setl_id: str) -> BillSettlement:
    """Void a pending settlement (the wallet failed): everything reserved goes back."""
    bill, record = _locked_pending(uow.session, setl_id)
    void(uow.session, container, bill, record, now=container.clock.now())
    return record


def _locked_pending(session: Session, setl_id: str) -> tuple[Bill, BillSettlement]:
    found = session.get(BillSettlement, setl_id)
    if found is None:
        raise ServiceError("not_found", f"no settlement {setl_id}")
    bill = facts.lock_bill(session, found.bill_id)
    assert bill is not None
    record = session.get(BillSettlement, setl_id, with_for_update=True, populate_existing=True)
    assert record is not None
    if record.status != "pending":
        raise ServiceError("conflict", f"settlement {setl_id} is {record.status}, not pending")
    return bill, record


def apply_order_outcome(
    session: Session,
    container: PayingContext,
    bill: Bill,
    order: WalletOrder,
    *,
    succeeded: bool,
    provider_txn_id: str,
    seq: int,
    now: datetime,
    record: BillSettlement | None = None,
    also: Sequence[Write] = (),
) -> None:
    """Confirm or fail a pending order's settlement, as the provider reported it.

    The one path for a callback and for the answer to a query
    (``settlement.scheduler.wallet_orders``); the caller holds the bill's and the order's row
    locks and has checked the order is pending. ``record``: the order's settlement, when the
    caller read and locked it with the order (else it is here). ``also``: writes sent with the
    outcome's (the callback's log row).
    """
    if record is None:
        record = session.get(BillSettlement, order.setl_id, with_for_update=True)
    assert record is not None and record.status == "pending"
    outcome = updated(
        order,
        status="succeeded" if succeeded else "failed",
        provider_txn_id=provider_txn_id,
        last_seq=seq,
        updated_at=now,
    )
    if succeeded:
        settle(session, container, bill, record, now=now, also=[outcome, *also])
    else:
        void(session, container, bill, record, now=now, also=[outcome, *also])


def settle(
    session: Session,
    container: PayingContext,
    bill: Bill,
    record: BillSettlement,
    *,
    now: datetime,
    also: Sequence[Write] = (),
) -> None:
    """Post ``record`` (:func:`write.confirm`) with what the context gives it; ``also``: writes
    sent with its own."""
    write.confirm(
        session,
        bill,
        record,
        clock=container.clock,
        credit_config=container.credit_config,
        settings=container.settings,
        people=container.insurance_platform(session),
        now=now,
        family_freezes=container.scheme.family.freeze_shared_on_overdue,
        also=also,
    )


def void(
    session: Session,
    container: PayingContext,
    bill: Bill,
    record: BillSettlement,
    *,
    now: datetime,
    also: Sequence[Write] = (),
) -> None:
    """Void ``record`` (:func:`write.fail`) with what the context gives it; ``also``: writes
    sent with its own."""
    write.fail(
        session,
        bill,
        record,
        clock=container.clock,
        platform=container.insurance_platform(session),
        settings=container.settings,
        now=now,
        also=also,
    )
