"""Closing a visit: the bill is made, and settled at once when the wallet owes nothing of it.

Issue 16 item 4, the decision: signing the agreement consents to settlement from the insurance
accounts, so a bill the pooled fund and the patient's own personal account cover entirely
(the split paying it now would take has ``psn_cash_pay`` 0.00) settles by itself in the
transaction that makes it, and the patient (and their family managers) are told. The split is
the one the patient paying now would take: family mutual aid is a manager's act (they pay, with
the standing consent they gave), never drawn at close. The settlement goes through the same
code a payment does (``service.split_now`` and ``service.take``): the accumulators and the
personal account reserved, the ledger's legs pending then posted, the bill ``settled``, the
credit event and the line released, the notice (``settled_by_insurance``) queued.

The insurance platform is an outside call. The attempt runs in a SAVEPOINT after the bill is
written: should the platform (or anything in the settlement) fail, the attempt is undone as a
whole, the bill stays ``billed`` (payable: the patient's own payment of ¥0.00 settles it, with
no wallet) and an ``insurance_settle_failed`` event in its history says so; the scheduler's
``settle_covered`` sweep (``settlement.scheduler.covered``) tries it again in every tick, before
auto-pay, reminders and overdue, until it settles or the wallet has a part (a balance moved: it
then waits for the patient like any bill).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.tables import Bill
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases import notices
from settlement.usecases.charging import visits
from settlement.usecases.charging.visits import CloseResult
from settlement.usecases.paying import decide, write
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.service import split_now, take

logger = logging.getLogger("shuxin.paying")

INSURANCE_CHANNEL = notices.INSURANCE_CHANNEL
#: The bill's history row when settling it from the insurance accounts failed.
SETTLE_FAILED = "insurance_settle_failed"


def close_visit(
    uow: UnitOfWork,
    *,
    container: PayingContext,
    hospital: Hospital,
    mdtrt_id: str,
    closed_by: str = "his",
    closed_at: datetime | None = None,
) -> CloseResult:
    """Close the visit into its bill (``settlement.usecases.charging.visits.close_visit``) and,
    when the bill was made now, settle it if the insurance accounts cover it entirely.

    The one way a visit closes: the HIS's close, the national 2207 and the scheduler's auto-close
    all come here. Closing a closed visit returns its bill as it is now, settling nothing.
    """
    closed = visits.close_visit(
        uow,
        container=container,
        hospital=hospital,
        mdtrt_id=mdtrt_id,
        closed_by=closed_by,
        closed_at=closed_at,
    )
    if not closed.made:
        return closed
    session = uow.session
    if closed.bill.status == bill_states.SETTLED:  # nothing billed: nothing to take
        notices.nothing_owed(
            session,
            settings=container.settings,
            people=container.insurance_platform(session),
            bill=closed.bill,
            now=container.clock.now(),
        )
        return closed
    settle_covered(session, container, closed.bill)
    return closed


def settle_covered(session: Session, container: PayingContext, bill: Bill) -> str:
    """Settle the bill just made from the insurance accounts if the wallet owes nothing of it:
    ``settled``, or ``waits`` (the wallet has a part); ``failed`` when the attempt failed: it is
    undone, the bill stays payable and its history says so (:data:`SETTLE_FAILED`), for the
    scheduler to try again (``settlement.scheduler.covered``)."""
    try:
        return settle_if_covered(session, container, bill)
    except Exception as error:  # the platform's failure, whatever its kind: undone, kept payable
        logger.warning(
            "settling bill %s from the insurance accounts failed (%s): it stays payable",
            bill.bill_id,
            type(error).__name__,
        )
        write.change_status(
            session,
            bill,
            bill.status,
            kind=SETTLE_FAILED,
            now=container.clock.now(),
            detail={"error": type(error).__name__},
        )
        session.flush()
        return "failed"


def settle_if_covered(session: Session, container: PayingContext, bill: Bill) -> str:
    """``settled`` when paying ``bill`` now would take nothing from the wallet and it was settled
    so, in a SAVEPOINT of the caller's transaction (a failure undoes the attempt as a whole and
    raises); ``waits`` when the wallet has a part or the bill is not payable.

    The caller holds the bill (it made it, or locked it).
    """
    if bill.status not in decide.PAYABLE:
        return "waits"
    with session.begin_nested():
        inputs, split = split_now(session, container, bill, payer_psn_no=bill.psn_no)
        if not decide.covered(split):
            return "waits"
        take(
            session,
            container,
            bill,
            inputs,
            split,
            payer_psn_no=bill.psn_no,
            provider=None,
            channel=INSURANCE_CHANNEL,
            expected=None,
        )
    return "settled"
