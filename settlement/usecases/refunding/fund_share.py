"""A refund before repayment of a ``visit_end`` bill: the fund's share of the refunded lines goes
back to the fund, the rest comes off the patient's credit.

The pooled fund settled its share when the visit closed (``settlement.usecases.charging.fund``).
Refunding lines before the patient repays reverses that settlement and settles the remaining
lines again, against the accumulators as if the refunded lines had never been
(:func:`insurance.modes.refund_fund_share`). The refunded lines' charges are reversed first
(``settlement.usecases.refunding.refunds``); then one linked ledger batch writes the new fund
legs into the lines as they carry the rest now, then the old fund legs reversed
(``settlement.usecases.refunding.decide.refund_batch``): the lines gain before they give. A
line keeps what it has no room to give back of its old legs; when the relative's own line has
spent that room (the re-balance after an earlier refund, another visit) and the fund's share
shrank, that much of its charges first moves onto the managers' lines the refund freed
(``settlement.usecases.refunding.reshare``). Only
then are the family's holds re-balanced, so the relative's room is what their line really has
once the old share's credit is off it (sized before, the re-balance could take room the
reversal needed, and the whole refund was refused), and a manager's line keeps at least the fund's
legs in it. The bill then owes exactly the remaining personal part, each line its share less
its fund legs (``settlement.usecases.paying.decide.after_fund_at_close``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from insurance.modes import FundRefund, refund_fund_share
from insurance.money import ZERO, quantize_fen, to_fen
from settlement.billing.accumulators import accumulators_for, lock_person, store_accumulators
from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import Bill, BillEvent, FeeLine, Visit
from settlement.foundation.ids import new_id
from settlement.ledger import chart
from settlement.ledger.ledger import create_transfers
from settlement.usecases.charging.decide import fund_legs
from settlement.usecases.charging.fund import fund_record
from settlement.usecases.charging.visits import fund_split, local_date, require_person
from settlement.usecases.family.rebalance_write import spill_charges
from settlement.usecases.family.sharing import bill_line_shares, lock_lines
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.refunding.decide import refund_batch
from settlement.usecases.refunding.reshare import fund_backers, legs_by_line, reshare_fund


def refund_fund_part(
    session: Session,
    container: PayingContext,
    bill: Bill,
    billed: Sequence[FeeLine],
    chosen: Sequence[FeeLine],
    shared: Mapping[str, list[SharedHold]],
    now: datetime,
    *,
    visit: Visit,
    backing: Mapping[str, Sequence[SharedHold]],
) -> FundRefund:
    """The fund's part of refunding ``chosen`` of the unpaid ``visit_end`` ``bill`` (whose lines
    were ``billed`` before the refund; ``shared``: the shared holds of the lines still billed):
    the fund's legs, the accumulators and the bill's fund settlement. The caller has reversed
    the charges and marked the lines refunded, re-balances the family's holds afterwards, and
    moves the bill. ``backing``: the visit's shared holds as read before the refund (the
    managers who may take the relative's charges)."""
    record = bill.fund_settlement
    assert record is not None, "a visit_end bill keeps its fund settlement"
    lock_person(session, bill.psn_no)
    person = require_person(container, session, bill.psn_no)
    original = fund_split(container, bill, lines=billed, account_balance=ZERO)
    accumulators = accumulators_for(
        session,
        person=person,
        policy_year=int(record["policy_year"]),
        current_year=original.policy.policy_year(local_date(container, now)),
    )
    chosen_sns = {line.feedetl_sn for line in chosen}
    refund = refund_fund_share(
        original,
        refunded=chosen_sns,
        accumulators=accumulators,
        account_balance=quantize_fen(person.balc),
    )
    remaining = len(billed) > len(chosen_sns)
    setl_id = new_id("FS", now) if remaining else None
    new_legs = []
    if setl_id is not None:
        fund_fen = to_fen(refund.settlement.setlinfo.hifp_pay)
        new_legs = _new_legs(
            session,
            container,
            bill,
            visit=visit,
            shared=shared,
            backing=backing,
            setl_id=setl_id,
            fund_fen=fund_fen,
            now=now,
        )
    create_transfers(
        session,
        refund_batch(
            bill.bill_id,
            charges=[],
            new_legs=new_legs,
            old_legs=record["legs"],
            accounts={"hifp": chart.POOLED_FUND},
        ),
        clock=container.clock,
        # The close that settled the fund's share opened it: opened here only if it is missing.
        open_missing={chart.POOLED_FUND: "fund"},
    )
    store_accumulators(session, psn_no=bill.psn_no, accumulators=refund.accumulators, now=now)
    bill.fund_settled_fen = to_fen(refund.settlement.setlinfo.hifp_pay) if remaining else 0
    bill.fund_settlement = (
        fund_record(setl_id, refund.settlement, new_legs) if setl_id is not None else None
    )
    # The fund's history, as the day's figures read it: its share returned, then re-settled.
    events = [("fund_returned", Decimal(record["hifp_pay"]), record["fund_setl_id"])]
    if setl_id is not None:
        events.append(("fund_resettled", refund.settlement.setlinfo.hifp_pay, setl_id))
    session.add_all(
        BillEvent(
            bill_id=bill.bill_id,
            kind=kind,
            from_status=bill.status,
            to_status=bill.status,
            amount_fen=to_fen(amount),
            detail={"fund_setl_id": fund_setl_id},
            created_at=now,
        )
        for kind, amount, fund_setl_id in events
    )
    return refund


def _new_legs(
    session: Session,
    container: PayingContext,
    bill: Bill,
    *,
    visit: Visit,
    shared: Mapping[str, list[SharedHold]],
    backing: Mapping[str, Sequence[SharedHold]],
    setl_id: str,
    fund_fen: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The new fund legs (``reshare.reshare_fund``): the relative's own line may have spent the room
    the old legs made (on the family's re-balance after an earlier refund, or another visit);
    then part of its charges moves onto the managers' lines the refund freed, first."""
    record = bill.fund_settlement
    assert record is not None
    shares = bill_line_shares(session, bill, shared=shared)  # as the lines carry them now
    people = {line for line, _ in shares} | {leg["line"] for leg in record["legs"]}
    people |= {row.manager_psn_no for rows in backing.values() for row in rows}
    available = lock_lines(session, [chart.patient_line(psn_no) for psn_no in people])
    room = {psn_no: available.get(chart.patient_line(psn_no), 0) for psn_no in people}
    reshare = reshare_fund(record["legs"], room, psn_no=bill.psn_no, fund_fen=fund_fen)
    if reshare.spill_fen:
        spill_charges(
            session,
            visit=visit,
            shared=shared,
            amount_fen=reshare.spill_fen,
            backers=fund_backers(backing, room, kept_legs=legs_by_line(record["legs"])),
            clock=container.clock,
            now=now,
        )
        shares = bill_line_shares(session, bill)
    return fund_legs(setl_id, bill.psn_no, fund_fen, shares, kept=reshare.kept)
