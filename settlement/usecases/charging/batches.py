"""Cancel a whole charge batch (national 2205): every held line of one ``chrg_bchno``, or of the
whole visit with ``"0000"``, in one transaction, each released as a single cancel would."""

from __future__ import annotations

from settlement.access.hospitals import Hospital
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging import visits
from settlement.usecases.charging.service import ChargingContext

#: The national 2205's batch number for "every line not settled yet".
ALL_UNSETTLED = "0000"


def cancel_batch(
    uow: UnitOfWork,
    *,
    container: ChargingContext,
    hospital: Hospital,
    mdtrt_id: str,
    chrg_bchno: str,
) -> visits.VisitState:
    """Cancel the held lines of ``chrg_bchno`` (all held lines for ``"0000"``) of an open visit.

    A batch whose lines are all cancelled already is a retry: the visit is answered as it is.
    A batch the visit never had is ``not_found``.
    """
    visit = visits.visit_of(uow.session, hospital, mdtrt_id, lock=True)
    if visit.status != "open":
        raise ServiceError("visit_closed", f"visit {mdtrt_id} is closed")
    batch = [line for line in visit.fees if chrg_bchno in (ALL_UNSETTLED, line.chrg_bchno)]
    if not batch and chrg_bchno != ALL_UNSETTLED:
        raise ServiceError("not_found", f"no charge batch {chrg_bchno} in visit {mdtrt_id}")
    state = visits.get_visit(uow, hospital=hospital, mdtrt_id=mdtrt_id)
    for line in batch:
        if line.status == "held":
            state = visits.cancel_fee(
                uow,
                container=container,
                hospital=hospital,
                mdtrt_id=mdtrt_id,
                feedetl_sn=line.feedetl_sn,
            )
    return state
