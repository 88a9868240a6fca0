"""Paying: the facts a decision reads, loaded (and locked where the write depends on them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from insurance.split import RelativeAccount
from settlement.access.hospitals import Hospital
from settlement.billing import bill_states
from settlement.billing.accumulators import AccumulatorRow, lock_person
from settlement.billing.family_tables import SharedHold
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.usecases.movements.decide import Intent
from settlement.usecases.paying.decide import PendingPayment

__all__ = [
    "OfferedAccounts",
    "SplitFacts",
    "live_settlement",
    "lock_bill",
    "lock_person",
    "lock_split_inputs",
    "locked_order",
    "split_inputs",
    "under_way",
]


# The hot path's reads, built once with their values bound by name: a statement built per call
# costs its construction and its cache key's computation every time (both memoised on one
# built once); the engine's compiled cache then finds it at once.
_LOCK_BILL = (
    select(Bill)
    .where(Bill.bill_id == bindparam("bill_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_bill(session: Session, bill_id: str) -> Bill | None:
    """The bill, locked until the transaction ends (``SELECT … FOR UPDATE``)."""
    return session.scalars(_LOCK_BILL, {"bill_id": bill_id}).first()


def live_settlement(session: Session, bill_id: str) -> BillSettlement | None:
    """The bill's pending or posted settlement, if any (there is at most one)."""
    query = select(BillSettlement).where(
        BillSettlement.bill_id == bill_id, BillSettlement.status.in_(("pending", "posted"))
    )
    return session.scalars(query.with_for_update()).first()


def payment_under_way(session: Session, bill: Bill) -> PendingPayment | None:
    """The payment of the locked ``bill`` still waiting for its wallet, if there is one.

    Only a bill in payment can have one, so no other is read: a pending settlement moves its
    bill to paying in its own transaction, and only its confirmation or failure moves it on.
    """
    if bill.status not in bill_states.IN_PAYMENT:
        return None
    return under_way(live_settlement(session, bill.bill_id))


def under_way(live: BillSettlement | None) -> PendingPayment | None:
    """The payment of the bill still waiting for its wallet, if there is one."""
    if live is None or live.status != "pending":
        return None
    return PendingPayment(live.order_id, live.setl_id)


#: The payer's personal account offered for mutual aid, read again under the locks.
OfferedAccounts = Callable[[], list[RelativeAccount]]


@dataclass(frozen=True)
class SplitFacts:
    """What a split of the bill reads: its visit, hospital, billed lines and mutual aid offered;
    ``shared``: the visit's holds on managers' lines by line (``family.sharing.shared_holds``),
    read with them (``None``: not read)."""

    visit: Visit
    hospital: Hospital
    lines: Sequence[FeeLine]
    relatives: list[RelativeAccount]
    #: The own-account debit an earlier attempt left made on the platform, which this payment
    #: may take over (``settlement.usecases.movements.resolve.leftovers``).
    taken_over: Intent | None = None
    shared: dict[str, list[SharedHold]] | None = None
    #: The patient's accumulators by policy year, read with the rest (``None``: not read).
    accumulators: dict[int, AccumulatorRow] | None = None


def lock_split_inputs(session: Session, bill: Bill, offered: OfferedAccounts) -> SplitFacts:
    """Lock the people whose accumulators and accounts the split uses, then read its inputs.

    Both people's accounts are locked in ``psn_no`` order, so two payers never wait crosswise;
    the offered balance is read again under the lock.
    """
    relatives = offered()
    for person in sorted({bill.psn_no, *(relative.psn_no for relative in relatives)}):
        lock_person(session, person)
    if relatives:
        relatives = offered()  # the balance as it is under the lock
    return split_inputs(session, bill, relatives)


_SPLIT_INPUTS = (
    select(Visit, Hospital, SharedHold, AccumulatorRow)
    .select_from(Visit)
    .join(Hospital, Hospital.code == bindparam("hospital_code"))
    .outerjoin(SharedHold, SharedHold.mdtrt_id == Visit.mdtrt_id)
    .outerjoin(AccumulatorRow, AccumulatorRow.psn_no == Visit.psn_no)
    .where(Visit.mdtrt_id == bindparam("mdtrt_id"))
    .options(joinedload(Visit.fees))
)


def split_inputs(session: Session, bill: Bill, relatives: list[RelativeAccount]) -> SplitFacts:
    """The bill's visit, hospital, billed lines, the holds its lines have on managers' lines and
    the patient's accumulators (one statement: a row per line, hold and policy year), with the
    mutual aid offered. Read under the patient's lock (:func:`lock_person`), the accumulators
    are the split's to use."""
    parameters = {"hospital_code": bill.hospital_code, "mdtrt_id": bill.mdtrt_id}
    rows = session.execute(_SPLIT_INPUTS, parameters).unique().all()
    assert rows, f"the bill's visit {bill.mdtrt_id}"
    visit, hospital, _, _ = rows[0]
    holds = sorted({row[2] for row in rows if row[2] is not None}, key=lambda hold: hold.rank)
    shared: dict[str, list[SharedHold]] = {}
    for hold in holds:
        shared.setdefault(hold.feedetl_sn, []).append(hold)
    accumulators = {row[3].policy_year: row[3] for row in rows if row[3] is not None}
    lines = [line for line in visit.fees if line.status == "billed"]
    return SplitFacts(visit, hospital, lines, relatives, shared=shared, accumulators=accumulators)


_LOCKED_ORDER = (
    select(Bill, WalletOrder, BillSettlement)
    .join(WalletOrder, WalletOrder.bill_id == Bill.bill_id)
    .join(BillSettlement, BillSettlement.setl_id == WalletOrder.setl_id)
    .where(
        WalletOrder.order_id == bindparam("order_id"), WalletOrder.provider == bindparam("provider")
    )
    .with_for_update()
    .execution_options(populate_existing=True)
)


def locked_order(
    session: Session, order_id: str, provider: str
) -> tuple[Bill, WalletOrder, BillSettlement] | None:
    """The provider's order, its bill and its settlement, all locked (the bill first, as every
    writer takes them); ``None`` when the provider has no such order.

    One statement: the three rows joined and locked together, the bill's first (PostgreSQL
    locks a statement's rows in the order its ``FROM`` names their tables). One that waited for
    a lock gets the rows as they are now, or none when the order was meanwhile moved to another
    settlement (``anomalies``: a paid order taken over); then the bill is locked alone and the
    order and its settlement read under that lock (:func:`_locked_in_two`).
    """
    found = session.execute(_LOCKED_ORDER, {"order_id": order_id, "provider": provider}).first()
    if found is not None:
        bill, order, record = found
        return bill, order, record
    return _locked_in_two(session, order_id, provider)


def _locked_in_two(
    session: Session, order_id: str, provider: str
) -> tuple[Bill, WalletOrder, BillSettlement] | None:
    """:func:`locked_order` in two statements: the bill found through the order and locked;
    then, under that lock, the order and its settlement read as they are now and locked."""
    of_order = (
        select(WalletOrder.bill_id)
        .where(WalletOrder.order_id == order_id, WalletOrder.provider == provider)
        .scalar_subquery()
    )
    query = (
        select(Bill)
        .where(Bill.bill_id == of_order)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    bill = session.scalars(query).first()
    if bill is None:
        return None
    both = (
        select(WalletOrder, BillSettlement)
        .join(BillSettlement, BillSettlement.setl_id == WalletOrder.setl_id)
        .where(WalletOrder.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order, record = session.execute(both).one()
    return bill, order, record
