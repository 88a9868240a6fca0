"""The pooled fund's share settled when the visit closes (``settlement_mode = "visit_end"``).

Where the regional policy says ``visit_end`` (the national 信用就医 model, ``insurance.modes``),
closing a visit settles the fund's share in the same transaction as the bill: the holds are
posted as in every close, then the pooled fund pays its share into the lines the charges are on
(``fund:pool`` → ``patient:{psn_no}:line``, posted at once, code ``repay_hifp``: the same
waterfall a repayment writes, the patient's own line first), and the policy year's accumulators
take the deductible and the fund's payment then. The credit line is left carrying exactly the
personal part; the bill records what the fund settled (``fund_settled_fen``) and how
(``fund_settlement``: its id, the split's inputs and the legs), so the repayment takes only the
personal part from the same split (:func:`settlement.usecases.charging.visits.bill_split`) and
a refund before repayment gives the fund back its share
(``settlement.usecases.refunding.fund_share``).

In ``repayment`` mode (the default) nothing here writes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from insurance.modes import at_close
from insurance.money import format_amount, from_fen, to_fen
from insurance.split import Accumulators, Settlement
from settlement.billing.accumulators import store_accumulators
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.clock import Clock
from settlement.foundation.ids import new_id
from settlement.ledger import chart
from settlement.ledger.ledger import TransferRequest, create_transfers, open_account
from settlement.usecases.charging.decide import fund_legs
from settlement.usecases.family.sharing import bill_line_shares

#: The ledger code of the fund's legs: the fund repaying the lines, as at repayment.
FUND_CODE = "repay_hifp"


def settle_fund_at_close(
    session: Session, *, bill: Bill, split: Settlement, clock: Clock, now: datetime
) -> None:
    """In ``visit_end``, settle the fund's share of the just-closed ``bill`` (split ``split``,
    whose accumulators were read under the person's lock); in ``repayment``, nothing."""
    closing = at_close(split, bill.settlement_mode)
    if not closing.fund_settled:
        return
    assert closing.accumulators is not None
    setl_id = new_id("FS", now)
    legs = fund_legs(
        setl_id, bill.psn_no, to_fen(closing.fund_pay), bill_line_shares(session, bill)
    )
    write_fund_legs(session, bill_id=bill.bill_id, legs=legs, clock=clock)
    store_accumulators(session, psn_no=bill.psn_no, accumulators=closing.accumulators, now=now)
    bill.fund_settled_fen = to_fen(closing.fund_pay)
    bill.fund_settlement = fund_record(setl_id, split, legs)
    session.add(
        BillEvent(
            bill_id=bill.bill_id,
            kind="fund_settled",
            from_status=bill.status,
            to_status=bill.status,
            amount_fen=bill.fund_settled_fen,
            detail={"fund_setl_id": setl_id, "act_pay_dedc": format_amount(closing.act_pay_dedc)},
            created_at=now,
        )
    )


def write_fund_legs(
    session: Session, *, bill_id: str, legs: Sequence[dict[str, Any]], clock: Clock
) -> None:
    """The fund's legs as posted transfers into the lines (one linked batch)."""
    if not legs:
        return
    open_account(session, code=chart.POOLED_FUND, kind="fund")
    create_transfers(
        session,
        [
            TransferRequest(
                id=leg["id"],
                debit_account=chart.POOLED_FUND,
                credit_account=chart.patient_line(leg["line"]),
                amount=from_fen(leg["amount_fen"]),
                code=FUND_CODE,
                reference=bill_id,
            )
            for leg in legs
        ],
        clock=clock,
    )


def fund_record(setl_id: str, split: Settlement, legs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the bill keeps of the fund's settlement: enough to rebuild exactly its split."""
    before = split.accumulators_before
    return {
        "fund_setl_id": setl_id,
        "lines": [line.feedetl_sn for line in split.lines],
        "hospital_level": split.hospital_level,
        "psn_type": split.psn_type,
        "visit_date": split.visit_date.isoformat(),
        "policy_year": before.policy_year,
        "deductible_before": format_amount(before.deductible_used),
        "hifp_paid_before": format_amount(before.hifp_paid),
        "hifp_pay": format_amount(split.setlinfo.hifp_pay),
        "act_pay_dedc": format_amount(split.setlinfo.act_pay_dedc),
        "legs": list(legs),
    }


def record_inputs(record: dict[str, Any]) -> tuple[Accumulators, int, str, date]:
    """The fund settlement's accumulators before, hospital level, person type and visit date."""
    before = Accumulators(
        int(record["policy_year"]),
        Decimal(record["deductible_before"]),
        Decimal(record["hifp_paid_before"]),
    )
    return (
        before,
        int(record["hospital_level"]),
        str(record["psn_type"]),
        date.fromisoformat(record["visit_date"]),
    )
