"""National 3201: the HIS submits its totals for a period and gets a verdict (``stmt_rslt``).

Shuxin's 2207 makes a bill, so the HIS's settlements are Shuxin's bills closed: the count and
``medfee_sumamt`` of the bills closed in the period (at their amount when they closed) are
compared. ``fund_pay_sumamt`` and ``acct_pay`` are shown beside Shuxin's, not compared: in the
repayment mode the fund and the account pay when the patient repays, not at the 2207. A day
whose records disagree with the ledger makes the verdict unbalanced too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.national.context import NationalCall
from api.national.schemas import Input3201
from insurance.money import format_amount, from_fen
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.reporting.reconciliation import reconcile_day

BALANCED, UNBALANCED = "0", "1"  # national stmt_rslt: 0 平, 1 不平
MAX_DAYS = 31


def reconcile(uow: UnitOfWork, call: NationalCall, body: Input3201) -> dict[str, Any]:
    """3201: the HIS's totals against Shuxin's bills closed in the period, day by day."""
    data = body.data
    days = (data.stmt_enddate - data.stmt_begndate).days + 1
    if not 1 <= days <= MAX_DAYS:
        raise ServiceError(
            "validation_error",
            f"the statement period is 1 to {MAX_DAYS} days, stmt_begndate first",
            fields=[{"path": "input.data.stmt_enddate", "message": "period", "type": "value"}],
        )
    count, closed, fund, acct, unbalanced = 0, 0, 0, 0, []
    for offset in range(days):
        day = data.stmt_begndate + timedelta(days=offset)
        report = reconcile_day(
            uow.session,
            hospital_code=call.hospital.code,
            day=day,
            zone=call.container.settings.timezone,
        )
        figures = report.figures
        count += figures.bills_closed.count
        closed += figures.bills_closed.fen
        fund += figures.net.fund
        acct += figures.net.acct
        if not report.balanced:
            unbalanced.append(day.isoformat())
    ours = (str(count), format_amount(from_fen(closed)))
    theirs = (str(data.fixmedins_setl_cnt), format_amount(data.medfee_sumamt))
    notes = [
        f"{name}: HIS {his}, Shuxin {shuxin}"
        for name, his, shuxin in zip(
            ("fixmedins_setl_cnt", "medfee_sumamt"), theirs, ours, strict=True
        )
        if his != shuxin
    ]
    differ = bool(notes)
    notes += [f"ledger unbalanced on {day}" for day in unbalanced]
    notes.append(
        f"for information (paid at repayment): fund_pay_sumamt HIS "
        f"{format_amount(data.fund_pay_sumamt)}, Shuxin {format_amount(from_fen(fund))}; "
        f"acct_pay HIS {format_amount(data.acct_pay)}, Shuxin {format_amount(from_fen(acct))}"
    )
    balanced = not differ and not unbalanced
    return {
        "stmtinfo": {
            "setl_optins": str(body.data.model_extra.get("setl_optins", ""))
            if body.data.model_extra
            else "",
            "stmt_rslt": BALANCED if balanced else UNBALANCED,
            "stmt_rslt_dscr": ("balanced; " if balanced else "unbalanced: ") + "; ".join(notes),
        }
    }
