"""Domain results turned into the contract's response bodies (money as two-place strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.national.setlinfo import (
    SetlSubject,
    line_extras,
    national_setlinfo,
    setldetail,
    subject_of,
)
from api.schemas.his import (
    ClosePublic,
    CreditPublic,
    FeeBatchPublic,
    FeePublic,
    ReasonPublic,
    VisitPublic,
)
from api.schemas.patients import CreditDecisionPublic
from api.schemas.setlinfo import HisSetlInfoPublic, SetlDetailPublic, SetlInfoPublic
from insurance.money import format_amount, format_fen
from settlement.billing.tables import Bill, FeeLine, Visit
from settlement.bootstrap import Container
from settlement.usecases.charging.visits import (
    CloseResult,
    FeeBatchResult,
    PostedFeeLine,
    VisitState,
)
from settlement.usecases.credit.agreements import SignUp
from settlement.usecases.credit.summary import CreditSummary

#: Times go out in the scheme's own zone, with the offset, as HIS vendors expect.
SERVICE_ZONE = ZoneInfo("Asia/Shanghai")


def iso(moment: datetime) -> str:
    return moment.astimezone(SERVICE_ZONE).isoformat(timespec="seconds")


def exact(value: Decimal, minimum_places: int = 2) -> str:
    """A unit price or count as written, with at least ``minimum_places`` places."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent < minimum_places:
        return f"{value:.{minimum_places}f}"
    return f"{value:f}"


def credit_public(summary: CreditSummary) -> CreditPublic:
    return CreditPublic(
        psn_no=summary.psn_no,
        status=summary.status,
        credit_line=format_amount(summary.credit_line),
        available=format_amount(summary.available),
        outstanding=format_amount(summary.outstanding),
        on_hold=format_amount(summary.on_hold),
        reasons=[ReasonPublic(code=r.code, zh=r.zh, en=r.en) for r in summary.reasons],
    )


def fee_public(line: FeeLine | PostedFeeLine) -> FeePublic:
    return FeePublic(
        feedetl_sn=line.feedetl_sn,
        chrg_bchno=line.chrg_bchno,
        med_list_codg=line.med_list_codg,
        item_name=line.item_name,
        pric=exact(line.pric),
        cnt=exact(line.cnt, 0),
        det_item_fee_sumamt=format_fen(line.det_item_fee_sumamt_fen),
        chrgitm_lv=line.chrgitm_lv,
        selfpay_prop=exact(line.selfpay_prop),
        fulamt_ownpay_amt=format_fen(line.fulamt_ownpay_amt_fen),
        overlmt_amt=format_fen(line.overlmt_amt_fen),
        preselfpay_amt=format_fen(line.preselfpay_amt_fen),
        inscp_scp_amt=format_fen(line.inscp_scp_amt_fen),
        unlisted=line.unlisted,
        pric_uplmt_amt=None if line.pric_uplmt_amt is None else exact(line.pric_uplmt_amt),
        **line_extras(
            unlisted=line.unlisted,
            lmt_used_flag=line.lmt_used_flag,
            hosp_appr_flag=line.hosp_appr_flag,
        ),
        fee_ocur_time=iso(line.fee_ocur_time),
        status=line.status,
    )


def fee_batch_public(result: FeeBatchResult) -> FeeBatchPublic:
    return FeeBatchPublic(
        mdtrt_id=result.visit.mdtrt_id,
        chrg_bchno=result.chrg_bchno,
        fees=[fee_public(line) for line in result.lines],
        medfee_sumamt=format_amount(result.medfee_sumamt),
        available=format_amount(result.available),
    )


def visit_public(state: VisitState) -> VisitPublic:
    visit: Visit = state.visit
    return VisitPublic(
        mdtrt_id=visit.mdtrt_id,
        ipt_otp_no=visit.ipt_otp_no,
        psn_no=visit.psn_no,
        med_type=visit.med_type,
        dept_code=visit.dept_code,
        dept_name=visit.dept_name,
        dr_name=visit.dr_name,
        begntime=iso(visit.begntime),
        status=visit.status,
        medfee_sumamt=format_amount(state.medfee_sumamt),
        available=format_amount(state.available),
        fees=[fee_public(line) for line in visit.fees],
        bill_id=state.bill.bill_id if state.bill is not None else None,
        closed_at=iso(visit.closed_at) if visit.closed_at else None,
    )


def setlinfo_public(setlinfo: dict[str, str], setl_id: str | None = None) -> SetlInfoPublic:
    fields = {name: setlinfo[name] for name in SetlInfoPublic.model_fields if name in setlinfo}
    if setl_id is not None:
        fields["setl_id"] = setl_id
    return SetlInfoPublic(**fields)


def his_setlinfo_public(
    setlinfo: dict[str, str], *, setl_id: str | None, subject: SetlSubject, on: date
) -> HisSetlInfoPublic:
    """The national 2207 fields of a split, for the HIS's REST answers (money as strings);
    ``on``: the day the person's age is counted on."""
    values = national_setlinfo(setlinfo, setl_id=setl_id, subject=subject, on=on)
    text: dict[str, object] = {}
    for name, value in values.items():
        if name == "pool_prop_selfpay":
            text[name] = setlinfo.get(name, "0.00")
        elif isinstance(value, Decimal):
            text[name] = str(value) if name == "age" else format_amount(value)
        elif isinstance(value, datetime):
            text[name] = iso(value)
        else:
            text[name] = value
    return HisSetlInfoPublic.model_validate(text)


def today(container: Container) -> date:
    """The service's day now, in its region's zone."""
    return container.clock.now().astimezone(ZoneInfo(container.settings.timezone)).date()


def split_subject(
    container: Container,
    session: Session,
    visit: Visit,
    *,
    medins_setl_id: str,
    setl_time: datetime | None = None,
) -> SetlSubject:
    """Who and what a split of ``visit`` is about, the person as the insurance platform has
    them (their name, identity number, insurance type)."""
    person = container.insurance_platform(session).lookup_person(visit.psn_no)
    return subject_of(visit, person, setl_time=setl_time, medins_setl_id=medins_setl_id)


def setldetail_public(setlinfo: dict[str, str]) -> list[SetlDetailPublic]:
    """What each fund paid (or would pay) of a split (national ``setldetail``)."""
    return [
        SetlDetailPublic.model_validate(
            {k: format_amount(v) if isinstance(v, Decimal) else v for k, v in fund.items()}
        )
        for fund in setldetail(setlinfo)
    ]


def mode_public(bill: Bill) -> dict[str, str]:
    """The bill's settlement mode, what the fund settled at close and what the credit carries."""
    return {
        "settlement_mode": bill.settlement_mode,
        "fund_settled_amt": format_fen(bill.fund_settled_fen or 0),
        "credit_amt": format_fen(bill.owed_fen),
    }


def close_public(result: CloseResult, subject: SetlSubject, on: date) -> ClosePublic:
    """The closed visit's bill; the estimate carries the national 2207 fields."""
    bill = result.bill
    return ClosePublic(
        mdtrt_id=result.visit.mdtrt_id,
        bill_id=bill.bill_id,
        status=bill.status,
        medfee_sumamt=format_fen(bill.medfee_sumamt_fen),
        closed_at=iso(bill.closed_at),
        due_at=iso(bill.due_at),
        **mode_public(bill),
        estimate=his_setlinfo_public(bill.estimate, setl_id=None, subject=subject, on=on),
        setldetail=setldetail_public(bill.estimate),
    )


def signed_up_public(signed: SignUp) -> CreditDecisionPublic:
    """The answer to signing the agreement (for oneself or, as a manager, for a relative)."""
    summary, signature = signed.summary, signed.signature
    return CreditDecisionPublic(
        psn_no=summary.psn_no,
        status=summary.status,
        credit_line=format_amount(summary.credit_line),
        available=format_amount(summary.available),
        reasons=[ReasonPublic(code=r.code, zh=r.zh, en=r.en) for r in summary.reasons],
        scorecard_version=summary.scorecard_version,
        autopay=signature.autopay,
        version=signature.version,
        signed_at=iso(signature.signed_at),
    )
