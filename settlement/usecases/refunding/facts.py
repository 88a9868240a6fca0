"""What a refund reads: the bill's visit, lines and shared holds (one statement); after
settlement the settlement it reverses, rebuilt from its stored inputs, the mutual aid offered
again, the refunded lines' posted charges and the shares the remaining lines carry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from insurance.errors import InsuranceError
from insurance.money import from_fen, quantize_fen
from insurance.split import Accumulators, RelativeAccount, Settlement, settle
from settlement.billing.accumulators import accumulators_for, lock_person
from settlement.billing.family_tables import FamilyLink, SharedHold
from settlement.billing.payment_tables import BillSettlement
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.foundation.errors import ServiceError
from settlement.ledger.ledger import get_transfers
from settlement.usecases.charging.visits import local_date, priced_line, require_person
from settlement.usecases.family.links import mutual_aid_accounts
from settlement.usecases.family.sharing import line_hold_ids
from settlement.usecases.family.waterfall import carried_by
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.facts import live_settlement, split_inputs
from settlement.usecases.paying.write import source_codes
from settlement.usecases.refunding.decide import PostedCharge, RefundedLine, SettledFacts


@dataclass(frozen=True)
class RefundFacts:
    """The locked bill's visit with its lines, and the holds its lines have on managers' lines
    (by ``feedetl_sn``)."""

    visit: Visit
    shared: dict[str, list[SharedHold]]

    @property
    def by_sn(self) -> dict[str, FeeLine]:
        return {line.feedetl_sn: line for line in self.visit.fees}

    def billed(self) -> list[FeeLine]:
        return [line for line in self.visit.fees if line.status == "billed"]


def refund_facts(session: Session, bill: Bill) -> RefundFacts:
    """The bill's visit, its lines and their shared holds, in one statement."""
    found = split_inputs(session, bill, [])
    assert found.shared is not None
    return RefundFacts(found.visit, found.shared)


def refunded_lines(chosen: Sequence[FeeLine]) -> list[RefundedLine]:
    """The chosen lines as the decision sees them."""
    return [RefundedLine(line.feedetl_sn, line.det_item_fee_sumamt_fen) for line in chosen]


def settled_facts(
    session: Session,
    container: PayingContext,
    bill: Bill,
    facts: RefundFacts,
    chosen: Sequence[FeeLine],
    now: datetime,
) -> tuple[BillSettlement, SettledFacts]:
    """The settlement a refund after settlement reverses (locked) and what re-settling reads:
    both people's accounts locked (in ``psn_no`` order, as payments lock them), the settlement
    rebuilt, the accumulators, balance and mutual aid now, the charges and the shares.

    Raises:
        ServiceError: ``conflict`` when the bill has no posted settlement, or it no longer
            rebuilds from its inputs.
    """
    record = live_settlement(session, bill.bill_id)
    if record is None or record.status != "posted":
        raise ServiceError("conflict", f"bill {bill.bill_id} has no posted settlement to reverse")
    for psn_no in sorted({bill.psn_no, record.payer_psn_no}):
        lock_person(session, psn_no)
    original = rebuild_settlement(container, session, record, lines=facts.visit.fees)
    person = require_person(container, session, bill.psn_no)
    accumulators = accumulators_for(
        session,
        person=person,
        policy_year=record.policy_year,
        current_year=original.policy.policy_year(local_date(container, now)),
    )
    refunded = {line.feedetl_sn for line in chosen}
    return record, SettledFacts(
        original=original,
        accumulators=accumulators,
        account_balance=quantize_fen(person.balc),
        relatives=mutual_aid_now(session, container, bill, record),
        charges=posted_charges(session, chosen, facts.shared),
        shares=shares_without(facts, refunded),
        accounts=source_codes(bill.psn_no, record.provider, mulaid_psn_no=record.payer_psn_no),
    )


def rebuild_settlement(
    container: PayingContext,
    session: Session,
    record: BillSettlement,
    *,
    lines: Sequence[FeeLine] | None = None,
) -> Settlement:
    """The split a settlement record was made of, computed again from its stored inputs
    (``lines``: the visit's lines, when the caller has read them).

    Raises:
        ServiceError: ``conflict`` if the same inputs no longer give the same split (the policy
            in force on the visit date was edited since), so nothing is reversed wrongly.
    """
    if lines is None:
        lines = session.query(FeeLine).filter(FeeLine.mdtrt_id == _mdtrt_of(session, record)).all()
    by_sn = {row.feedetl_sn: row for row in lines}
    policy = container.policies.in_force(record.visit_date)
    try:
        rebuilt = settle(
            [priced_line(by_sn[sn]) for sn in record.lines],
            policy=policy,
            hospital_level=record.hospital_level,
            psn_type=record.psn_type,
            accumulators=Accumulators(
                record.policy_year,
                from_fen(record.deductible_before_fen),
                from_fen(record.hifp_paid_before_fen),
            ),
            account_balance=from_fen(record.balance_before_fen),
            relatives=_paid_mutual_aid(session, record),
            visit_date=record.visit_date,
        )
    except InsuranceError as error:
        raise ServiceError("conflict", f"settlement {record.setl_id}: {error}") from None
    if rebuilt.setlinfo.as_dict() != record.setlinfo:
        raise ServiceError(
            "conflict", f"settlement {record.setl_id} no longer rebuilds from its inputs"
        )
    return rebuilt


def _payer_relation(session: Session, record: BillSettlement) -> str | None:
    """The relation the payer declared for the patient on their latest link (ended or not)."""
    return session.scalars(
        select(FamilyLink.relation)
        .where(
            FamilyLink.manager_psn_no == record.payer_psn_no,
            FamilyLink.relative_psn_no == record.psn_no,
        )
        .order_by(FamilyLink.invited_at.desc(), FamilyLink.link_id.desc())
    ).first()


def _paid_mutual_aid(session: Session, record: BillSettlement) -> list[RelativeAccount]:
    """The payer's account as the settlement used it: offering exactly what it paid rebuilds the
    same split (the account paid ``min(what was left, its balance)``, which was that amount)."""
    if not record.acct_mulaid_pay_fen:
        return []
    relation = _payer_relation(session, record)
    if relation is None:
        raise ServiceError("conflict", f"settlement {record.setl_id}: no family link of the payer")
    return [RelativeAccount(record.payer_psn_no, relation, from_fen(record.acct_mulaid_pay_fen))]


def mutual_aid_now(
    session: Session, container: PayingContext, bill: Bill, record: BillSettlement
) -> list[RelativeAccount]:
    """The payer's account offered to the re-settlement, at its balance now.

    While the link is active this is what a payment now would offer. If the link has ended since
    the payment, the account that paid is still offered under the relation it paid under: the
    re-settlement only redistributes money that account already gave, it never asks for more
    than it gave back first, so the wallet is never charged for the link's ending.
    """
    offered = mutual_aid_accounts(
        session, container=container, payer_psn_no=record.payer_psn_no, bill=bill
    )
    if offered or not record.acct_mulaid_pay_fen:
        return offered
    relation = _payer_relation(session, record)
    person = container.insurance_platform(session).lookup_person(record.payer_psn_no)
    if relation is None or person is None:
        return []
    return [RelativeAccount(record.payer_psn_no, relation, quantize_fen(person.balc))]


def _mdtrt_of(session: Session, record: BillSettlement) -> str:
    bill = session.get(Bill, record.bill_id)
    assert bill is not None
    return bill.mdtrt_id


def hold_ids(chosen: Sequence[FeeLine], shared: Mapping[str, Sequence[SharedHold]]) -> list[str]:
    """Every hold of the chosen lines (own and family-shared, ``shared``: the visit's shared
    holds by ``feedetl_sn``); each was posted at close."""
    return [
        hold_id
        for line in chosen
        for hold_id in line_hold_ids(line, shared.get(line.feedetl_sn, []))
    ]


def shares_without(facts: RefundFacts, refunded: set[str]) -> list[tuple[str, Decimal]]:
    """Which lines carried the bill's lines that remain after this refund."""
    visit, shared = facts.visit, facts.shared
    totals: dict[str, int] = {}
    for line in visit.fees:
        if line.status != "billed" or line.feedetl_sn in refunded:
            continue
        carried = carried_by(
            visit.psn_no, line.det_item_fee_sumamt_fen, shared.get(line.feedetl_sn, [])
        )
        for psn_no, fen in carried:
            totals[psn_no] = totals.get(psn_no, 0) + fen
    return [(psn_no, from_fen(fen)) for psn_no, fen in totals.items() if fen > 0]


def posted_charges(
    session: Session, chosen: Sequence[FeeLine], shared: Mapping[str, Sequence[SharedHold]]
) -> list[PostedCharge]:
    """The refunded lines' charges as close posted them (``post:{hold_id}``), read in one
    statement, in the order of :func:`hold_ids`."""
    holds = hold_ids(chosen, shared)
    found = get_transfers(session, [f"post:{hold_id}" for hold_id in holds])
    charges = []
    for hold_id in holds:
        charge = found.get(f"post:{hold_id}")
        assert charge is not None, f"the charge of {hold_id} was posted at close"
        charges.append(
            PostedCharge(
                hold_id=hold_id,
                transfer_id=charge.id,
                debit_account=charge.debit_account_id,
                credit_account=charge.credit_account_id,
                amount=charge.amount,
            )
        )
    return charges
