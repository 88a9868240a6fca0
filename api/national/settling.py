"""National 2206 (pre-settle), 2207 (settle), 2208 (reverse a settlement) and 5203 (read a
settlement), translated onto the services the REST API calls.

In the repayment mode (Dezhou's, the default) the HIS's 2207 ends the visit: it becomes a bill
on the patient's credit, due in 72 hours, and the answer is the split estimated now, its
``setl_id`` the bill's id. The patient's repayment settles it for good; 5203 reads that final
split by the same ``setl_id``. 2208 with that ``setl_id`` refunds every line of the bill.

In the ``visit_end`` mode (the national 信用就医 model, ``insurance.modes``) the 2207 settles the
pooled fund's share there and then: its ``hifp_pay`` / ``fund_pay_sumamt`` and ``act_pay_dedc``
are final, and ``psn_part_amt`` is what the patient owes on credit (the HIS records it as paid by
payment channel 14, 信用就医); ``acct_pay`` and ``psn_cash_pay`` are the estimate of how the
repayment will take it (the personal account first). Both answers say which mode and what the
credit carries in ``bill`` (Shuxin's addition beside ``setlinfo``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder

from api.national.context import NationalCall, same_patient
from api.national.schemas import Input2207, Input2208, Input5203
from api.national.setlinfo import (
    MONEY_FIELDS,
    NATIONAL_PSN_TYPE,
    SetlSubject,
    national_setlinfo,
    setldetail,
    subject_of,
)
from insurance.modes import CREDIT_PAY_CHANNEL
from insurance.money import format_amount, from_fen
from settlement.billing.bills import BillDetail, hospital_bill
from settlement.billing.national_tables import keep_national_details, national_details
from settlement.billing.tables import Bill, Visit
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging import visits
from settlement.usecases.paying import closing
from settlement.usecases.refunding.refunds import refund_lines

#: Where a bill's 2208 answer is kept (beside the visit's national details), for its retries.
REVERSAL_KEY = "2208"
#: Why the lines of a reversed settlement were refunded (the bill's history shows it).
REVERSAL_REASON = "2208 结算撤销 (settlement reversed)"
#: The national 2208 answer's setlinfo fields (a reversal names no person).
SETLINFO_2208_FIELDS = (
    "mdtrt_id",
    "setl_id",
    "clr_optins",
    "setl_time",
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "balc",
    "acct_mulaid_pay",
    "hosp_part_amt",
    "medins_setl_id",
    "psn_cash_pay",
)


def _subject(call: NationalCall, uow: UnitOfWork, visit: Visit, **times: Any) -> SetlSubject:
    person = call.container.insurance_platform(uow.session).lookup_person(visit.psn_no)
    return subject_of(visit, person, **times)


def _answer(
    call: NationalCall, setlinfo: dict[str, str], *, setl_id: str, subject: SetlSubject
) -> dict[str, Any]:
    """A 2206/2207/5203 answer: ``setlinfo`` (41 fields) and ``setldetail``, national types."""
    on = call.now().astimezone(call.zone).date()
    values = national_setlinfo(setlinfo, setl_id=setl_id, subject=subject, on=on)
    values["setl_time"] = call.national_time(subject.setl_time or call.now())
    values["age"] = values["age"] if values["age"] is not None else Decimal(0)
    psn_type = str(values["psn_type"])
    values["psn_type"] = NATIONAL_PSN_TYPE.get(psn_type, psn_type)
    return {"setlinfo": values, "setldetail": setldetail(setlinfo)}


def _check_total(his_total: Decimal, ours: Decimal, mdtrt_id: str) -> None:
    if his_total != ours:
        raise ServiceError(
            "amount_mismatch",
            f"medfee_sumamt {format_amount(his_total)} is not visit {mdtrt_id}'s "
            f"{format_amount(ours)} (the lines on hold or billed)",
            fields=[
                {
                    "path": "input.data.medfee_sumamt",
                    "message": f"expected {format_amount(ours)}",
                    "type": "amount_mismatch",
                }
            ],
            expected=format_amount(ours),
        )


def _visit_checked(uow: UnitOfWork, call: NationalCall, body: Input2207) -> visits.VisitState:
    data = body.data
    state = visits.get_visit(uow, hospital=call.hospital, mdtrt_id=data.mdtrt_id)
    same_patient(data.psn_no, state.visit.psn_no, f"visit {data.mdtrt_id}")
    _check_total(data.medfee_sumamt, state.medfee_sumamt, data.mdtrt_id)
    return state


def presettle(uow: UnitOfWork, call: NationalCall, body: Input2207) -> dict[str, Any]:
    """2206: the split as it would be now; changes nothing."""
    state = _visit_checked(uow, call, body)
    split = visits.presettle(
        uow, container=call.container, hospital=call.hospital, mdtrt_id=state.visit.mdtrt_id
    )
    subject = _subject(call, uow, state.visit, setl_time=None, medins_setl_id="")
    return _answer(call, split.setlinfo.as_dict(), setl_id="", subject=subject)


def settle(uow: UnitOfWork, call: NationalCall, body: Input2207) -> dict[str, Any]:
    """2207: the visit closed into its bill; the split estimated now, ``setl_id`` the bill's
    id. Settling a settled visit again answers the same bill."""
    state = _visit_checked(uow, call, body)
    closed = closing.close_visit(
        uow, container=call.container, hospital=call.hospital, mdtrt_id=state.visit.mdtrt_id
    )
    bill = closed.bill
    subject = _subject(
        call, uow, closed.visit, setl_time=bill.closed_at, medins_setl_id=bill.bill_id
    )
    answer = _answer(call, dict(bill.estimate), setl_id=bill.bill_id, subject=subject)
    answer["bill"] = bill_summary(bill, settled=False)
    return answer


def bill_summary(bill: Bill, *, settled: bool, shuxin_setl_id: str = "") -> dict[str, Any]:
    """Shuxin's addition to a 2207/5203 answer: the bill, its settlement mode, what the fund
    settled and what the patient's credit carries (paid by channel 14, 信用就医)."""
    fund = from_fen(bill.fund_settled_fen or 0)
    return {
        "bill_id": bill.bill_id,
        "status": bill.status,
        "settled": settled,
        "shuxin_setl_id": shuxin_setl_id,
        "settlement_mode": bill.settlement_mode,
        "fund_settled_at_close": bill.fund_settlement is not None,
        "fund_settled_amt": fund,
        "credit_amt": from_fen(bill.medfee_sumamt_fen) - fund,
        "credit_pay_chnl": CREDIT_PAY_CHANNEL,
    }


def _standing_split(detail: BillDetail) -> dict[str, str]:
    """The split that stands for the bill: its settlement's, else its estimate."""
    if detail.settlement is not None:
        return dict(detail.settlement.setlinfo)
    return dict(detail.bill.estimate)


def _bill_of(uow: UnitOfWork, call: NationalCall, setl_id: str, mdtrt_id: str | None) -> BillDetail:
    detail = hospital_bill(uow.session, hospital_code=call.hospital.code, bill_id=setl_id)
    if mdtrt_id is not None and detail.bill.mdtrt_id != mdtrt_id:
        raise ServiceError("not_found", f"no settlement {setl_id} of visit {mdtrt_id}")
    return detail


def reversal_id(bill_id: str) -> str:
    """The ``setl_id`` of a bill's reversal: one per bill, the same on every retry."""
    return "RV" + bill_id[2:]


def reverse(uow: UnitOfWork, call: NationalCall, body: Input2208) -> dict[str, Any]:
    """2208: every line of the bill refunded (its settlement reversed, the money back where it
    came from, or the credit released before payment); the answer is the split the HIS was told
    at 2207 (or the final one, once paid), negated, under a new ``setl_id``."""
    data = body.data
    detail = _bill_of(uow, call, data.setl_id, data.mdtrt_id)
    same_patient(data.psn_no, detail.bill.psn_no, f"settlement {data.setl_id}")
    before = _standing_split(detail)
    billed = [line.feedetl_sn for line in detail.lines if line.status == "billed"]
    if not billed:
        # A retry under a new msgid: the reversal this call made, as it answered it.
        kept = national_details(uow.session, detail.bill.mdtrt_id).get(REVERSAL_KEY)
        if kept is not None:
            return kept
        raise ServiceError(
            "already_refunded",
            f"settlement {data.setl_id} is refunded already, not by a national 2208",
        )
    refund_lines(
        uow,
        container=call.container,
        hospital=call.hospital,
        bill_id=data.setl_id,
        feedetl_sns=billed,
        reason=REVERSAL_REASON,
    )
    subject = _subject(call, uow, detail.visit, setl_time=call.now(), medins_setl_id=data.setl_id)
    full = national_setlinfo(
        before,
        setl_id=reversal_id(data.setl_id),
        subject=subject,
        on=call.now().astimezone(call.zone).date(),
    )
    for name in MONEY_FIELDS - {"balc"}:
        full[name] = -Decimal(str(full[name]))
    person = subject.person
    full["balc"] = person.balc if person is not None else Decimal(0)
    full["setl_time"] = call.national_time(call.now())
    negated = {k: format_amount(-Decimal(v)) for k, v in before.items() if k in MONEY_FIELDS}
    answer: dict[str, Any] = jsonable_encoder(
        {
            "setlinfo": {name: full[name] for name in SETLINFO_2208_FIELDS},
            "setldetail": setldetail({**before, **negated}),
        }
    )
    keep_national_details(
        uow.session,
        mdtrt_id=detail.bill.mdtrt_id,
        details={REVERSAL_KEY: answer},
        now=call.now(),
    )
    return answer


def read(uow: UnitOfWork, call: NationalCall, body: Input5203) -> dict[str, Any]:
    """5203: the bill's split as it stands (the patient's settlement once paid, the estimate
    before), under the ``setl_id`` the 2207 answered, and the bill's state."""
    data = body.data
    detail = _bill_of(uow, call, data.setl_id, data.mdtrt_id)
    same_patient(data.psn_no, detail.bill.psn_no, f"settlement {data.setl_id}")
    standing = detail.settlement
    subject = _subject(
        call,
        uow,
        detail.visit,
        setl_time=standing.posted_at if standing is not None else detail.bill.closed_at,
        medins_setl_id=detail.bill.bill_id,
    )
    answer = _answer(call, _standing_split(detail), setl_id=detail.bill.bill_id, subject=subject)
    answer["bill"] = bill_summary(
        detail.bill,
        settled=standing is not None,
        shuxin_setl_id=standing.setl_id if standing is not None else "",
    )
    return answer
