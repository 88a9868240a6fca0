"""A refund before repayment of a ``visit_end`` bill: the fund's share of the refunded lines goes
back to the fund, the rest comes off the patient's credit.

The pooled fund settled its share when the visit closed (``settlement.usecases.charging.fund``).
Refunding lines before the patient repays reverses that settlement and settles the remaining
lines again, against the accumulators as if the refunded lines had never been
(:func:`insurance.modes.refund_fund_share`). The refunded lines' charges are reversed first
(``settlement.usecases.refunding.refunds``); then one linked ledger batch writes the new fund
legs into the lines as they carry the rest now, then the old fund legs reversed
(``settlement.usecases.refunding.decide.refund_batch``): the lines gain before they give. Only
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

from sqlalchemy.orm import Session

from insurance.modes import FundRefund, refund_fund_share
from insurance.money import ZERO, quantize_fen, to_fen
from settlement.billing.accumulators import accumulators_for, lock_person, store_accumulators
from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import Bill, BillEvent, FeeLine
from settlement.foundation.ids import new_id
from settlement.ledger import chart
from settlement.ledger.ledger import create_transfers, open_account
from settlement.usecases.charging.decide import fund_legs
from settlement.usecases.charging.fund import fund_record
from settlement.usecases.charging.visits import fund_split, local_date, require_person
from settlement.usecases.family.sharing import bill_line_shares
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.refunding.decide import refund_batch


def refund_fund_part(
    session: Session,
    container: PayingContext,
    bill: Bill,
    billed: Sequence[FeeLine],
    chosen: Sequence[FeeLine],
    shared: Mapping[str, list[SharedHold]],
    now: datetime,
) -> FundRefund:
    """The fund's part of refunding ``chosen`` of the unpaid ``visit_end`` ``bill`` (whose lines
    were ``billed`` before the refund; ``shared``: the shared holds of the lines still billed):
    the fund's legs, the accumulators and the bill's fund settlement. The caller has reversed
    the charges and marked the lines refunded, re-balances the family's holds afterwards, and
    moves the bill."""
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
        # The lines still billed, as they carry them now.
        shares = bill_line_shares(session, bill, shared=shared)
        new_legs = fund_legs(setl_id, bill.psn_no, fund_fen, shares)
    open_account(session, code=chart.POOLED_FUND, kind="fund")
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
