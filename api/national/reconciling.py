"""National 3201: the HIS submits its totals for a period and gets a verdict (``stmt_rslt``).

Shuxin's 2207 makes a bill, so the HIS's settlements are Shuxin's bills closed in the period,
each as its 2207 answered it (``settlement.usecases.reporting.statement``). Every total the HIS
submits that Shuxin models is compared: ``fixmedins_setl_cnt``, ``medfee_sumamt`` (the bills'
amounts when they closed), ``fund_pay_sumamt`` and ``acct_pay`` (as the 2207 answered them: in
``visit_end`` the fund's share settled at close, in ``repayment`` the estimate). Any difference
makes the verdict 1 (不平) and the description names each figure that differs, both values and
by how much. A day whose records disagree with the ledger makes the verdict 1 too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any
from zoneinfo import ZoneInfo

from api.national.context import NationalCall
from api.national.schemas import Input3201, Statement3201
from insurance.money import format_amount, from_fen, to_fen
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.reporting.days import DayRange
from settlement.usecases.reporting.reconciliation import unbalanced_days
from settlement.usecases.reporting.statement import Statement, answered_at_close

BALANCED, UNBALANCED = "0", "1"  # national stmt_rslt: 0 平, 1 不平
MAX_DAYS = 31
#: The submitted totals compared, in the order the description names them (all but the count
#: are money).
COMPARED = tuple(field.name for field in fields(Statement))


def reconcile(uow: UnitOfWork, call: NationalCall, body: Input3201) -> dict[str, Any]:
    """3201: the HIS's totals against Shuxin's bills closed in the period, as answered."""
    data = body.data
    days = (data.stmt_enddate - data.stmt_begndate).days + 1
    if not 1 <= days <= MAX_DAYS:
        raise ServiceError(
            "validation_error",
            f"the statement period is 1 to {MAX_DAYS} days, stmt_begndate first",
            fields=[{"path": "input.data.stmt_enddate", "message": "period", "type": "value"}],
        )
    period = DayRange(
        data.stmt_begndate, data.stmt_enddate, ZoneInfo(call.container.settings.timezone)
    )
    hospital = call.hospital
    ours = answered_at_close(uow.session, hospital_code=hospital.code, days=period)
    unbalanced = unbalanced_days(
        uow.session, hospitals=[(hospital.code, hospital.name)], days=period
    )
    rslt, dscr = verdict(
        submitted(data), ours, sorted(report.figures.day.isoformat() for report in unbalanced)
    )
    extra = data.model_extra or {}
    return {
        "stmtinfo": {
            "setl_optins": str(extra.get("setl_optins", "")),
            "stmt_rslt": rslt,
            "stmt_rslt_dscr": dscr,
        }
    }


def submitted(data: Statement3201) -> Statement:
    """The HIS's totals in Shuxin's terms (fen; ``Money`` has at most two places)."""
    return Statement(
        fixmedins_setl_cnt=data.fixmedins_setl_cnt,
        medfee_sumamt=to_fen(data.medfee_sumamt),
        fund_pay_sumamt=to_fen(data.fund_pay_sumamt),
        acct_pay=to_fen(data.acct_pay),
    )


def verdict(theirs: Statement, ours: Statement, unbalanced: Sequence[str]) -> tuple[str, str]:
    """``stmt_rslt`` and ``stmt_rslt_dscr``: 0 when every compared total is equal and no day of
    the period is unbalanced against the ledger, else 1 with each difference named (the HIS's
    figure, Shuxin's, and by how much the HIS's is more or less)."""
    notes = [
        _difference(name, getattr(theirs, name), getattr(ours, name))
        for name in COMPARED
        if getattr(theirs, name) != getattr(ours, name)
    ]
    notes += [f"ledger unbalanced on {day}" for day in unbalanced]
    if notes:
        return UNBALANCED, "unbalanced: " + "; ".join(notes)
    figures = ", ".join(f"{name} {_shown(name, getattr(ours, name))}" for name in COMPARED)
    return BALANCED, f"balanced: {figures}"


def _difference(name: str, his: int, shuxin: int) -> str:
    gap = his - shuxin
    more = "more" if gap > 0 else "less"
    return (
        f"{name}: HIS {_shown(name, his)}, Shuxin {_shown(name, shuxin)} "
        f"(HIS {_shown(name, abs(gap))} {more})"
    )


def _shown(name: str, value: int) -> str:
    if name == "fixmedins_setl_cnt":
        return str(value)
    return format_amount(from_fen(value))
