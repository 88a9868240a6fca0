"""What Shuxin answered for a hospital's settlements of a period, added up as an HIS adds up its
own records for the national 3201 reconciliation (对总账).

An HIS's 2207 makes a bill, so the HIS's settlements of a period are Shuxin's bills closed in it
(their ``closed`` event, on the local day it was written, as the day's figures count them), each
as the 2207 answered it: ``medfee_sumamt`` the bill's amount when it closed, ``fund_pay_sumamt``
and ``acct_pay`` the split answered then (in ``visit_end`` the fund's share settled at close; in
``repayment`` the estimate, the fund and the account paying at repayment). The close keeps those
two figures with its event, so a later refund does not change what the HIS was told; a bill
closed before they were kept answers from its estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from insurance.money import to_fen
from settlement.billing.tables import Bill, BillEvent
from settlement.usecases.reporting.days import DayRange


@dataclass(frozen=True)
class Statement:
    """A period's settlements as answered at 2207: a count and sums in fen, by national name."""

    fixmedins_setl_cnt: int = 0
    medfee_sumamt: int = 0
    fund_pay_sumamt: int = 0
    acct_pay: int = 0


def answered_at_close(session: Session, *, hospital_code: str, days: DayRange) -> Statement:
    """The bills ``hospital_code`` closed in ``days``, as their 2207 answers add up (one read)."""
    query = (
        select(BillEvent.amount_fen, BillEvent.detail, Bill.estimate)
        .join(Bill, Bill.bill_id == BillEvent.bill_id)
        .where(
            BillEvent.kind == "closed",
            BillEvent.created_at >= days.start,
            BillEvent.created_at < days.end,
            Bill.hospital_code == hospital_code,
        )
    )
    count = medfee = fund = acct = 0
    for amount_fen, detail, estimate in session.execute(query):
        count += 1
        medfee += int(amount_fen)
        fund += _answered(detail, estimate, "fund_pay_sumamt")
        acct += _answered(detail, estimate, "acct_pay")
    return Statement(count, medfee, fund, acct)


def _answered(detail: dict[str, Any] | None, estimate: dict[str, Any] | None, name: str) -> int:
    kept = (detail or {}).get(f"{name}_fen")
    if kept is not None:
        return int(kept)
    return to_fen(Decimal(str((estimate or {}).get(name, "0.00"))))
