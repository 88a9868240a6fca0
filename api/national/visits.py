"""National 2201 (open a visit), 2204 (charge a batch) and 2205 (cancel a batch), translated onto
the charging services the REST API calls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from api.national.context import NationalCall, same_patient
from api.national.schemas import Input2201, Input2204, Input2205, Line2204
from api.national.setlinfo import NATIONAL_CHRGITM_LV, line_extras
from insurance.money import from_fen
from settlement.billing.catalogue import catalogue_for
from settlement.billing.national_tables import VISIT_LEVEL, keep_national_details
from settlement.billing.tables import FeeLine, Visit
from settlement.foundation.errors import ServiceError
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging import batches, visits


def open_visit(uow: UnitOfWork, call: NationalCall, body: Input2201) -> dict[str, Any]:
    """2201: the visit opened; the same ``ipt_otp_no`` for the same patient again (a retry under
    a new msgid) answers the visit it opened."""
    data = body.data
    request = visits.VisitRequest(
        ipt_otp_no=data.ipt_otp_no,
        psn_no=data.psn_no,
        med_type=data.med_type,
        dept_code=data.dept_code,
        dept_name=data.dept_name,
        dr_name=data.dr_name,
        begntime=call.placed(data.begntime),
    )
    try:
        state = visits.open_visit(
            uow, container=call.container, hospital=call.hospital, request=request
        )
        mdtrt_id = state.visit.mdtrt_id
    except ServiceError as refusal:
        mdtrt_id = _same_visit(uow, refusal, data.psn_no)
    keep_national_details(
        uow.session,
        mdtrt_id=mdtrt_id,
        details={VISIT_LEVEL: kept_fields(data)},
        now=call.now(),
    )
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": data.psn_no, "ipt_otp_no": data.ipt_otp_no}}


def _same_visit(uow: UnitOfWork, refusal: ServiceError, psn_no: str) -> str:
    existing = refusal.details.get("mdtrt_id") if refusal.code == "duplicate_visit" else None
    visit = None if existing is None else uow.session.get(Visit, existing)
    if visit is None or visit.psn_no != psn_no:
        raise refusal
    return visit.mdtrt_id


def line_2204(line: FeeLine | visits.PostedFeeLine) -> dict[str, Any]:
    """A line of the 2204 answer: money as numbers, ``chrgitm_lv`` 01/02/03, no price cap 0."""
    return {
        "feedetl_sn": line.feedetl_sn,
        "det_item_fee_sumamt": from_fen(line.det_item_fee_sumamt_fen),
        "cnt": line.cnt,
        "pric": line.pric,
        "pric_uplmt_amt": line.pric_uplmt_amt if line.pric_uplmt_amt is not None else Decimal(0),
        "selfpay_prop": line.selfpay_prop,
        "fulamt_ownpay_amt": from_fen(line.fulamt_ownpay_amt_fen),
        "overlmt_amt": from_fen(line.overlmt_amt_fen),
        "preselfpay_amt": from_fen(line.preselfpay_amt_fen),
        "inscp_scp_amt": from_fen(line.inscp_scp_amt_fen),
        "chrgitm_lv": NATIONAL_CHRGITM_LV[line.chrgitm_lv],
        **line_extras(
            unlisted=line.unlisted,
            lmt_used_flag=line.lmt_used_flag,
            hosp_appr_flag=line.hosp_appr_flag,
        ),
    }


def _one_batch(lines: list[Line2204]) -> tuple[str, str, str]:
    """The batch's visit, patient and ``chrg_bchno``: one of each, as the national 2204 asks."""
    keys = {(line.mdtrt_id, line.psn_no, line.chrg_bchno) for line in lines}
    if len(keys) != 1:
        raise ServiceError(
            "validation_error",
            "the lines of one 2204 must share mdtrt_id, psn_no and chrg_bchno",
            fields=[{"path": "input.feedetail", "message": "mixed batches", "type": "value"}],
        )
    (key,) = keys
    return key


def post_fees(uow: UnitOfWork, call: NationalCall, body: Input2204) -> dict[str, Any]:
    """2204: the batch held against the credit line, each line priced. The same lines under the
    same ``chrg_bchno`` again (a retry under a new msgid) answer the lines as posted."""
    mdtrt_id, psn_no, chrg_bchno = _one_batch(body.feedetail)
    state = visits.get_visit(uow, hospital=call.hospital, mdtrt_id=mdtrt_id)
    same_patient(psn_no, state.visit.psn_no, f"visit {mdtrt_id}")
    posted = {line.feedetl_sn: line for line in state.visit.fees}
    if all(_posted_alike(posted.get(line.feedetl_sn), line) for line in body.feedetail):
        return {"result": [line_2204(posted[line.feedetl_sn]) for line in body.feedetail]}
    names = catalogue_for(uow.session, (line.med_list_codg for line in body.feedetail))
    fees = [
        visits.FeeRequest(
            feedetl_sn=line.feedetl_sn,
            med_list_codg=line.med_list_codg,
            # The national 2204 has no item name: the catalogue's, else the hospital's own code.
            item_name=_item_name(names.get(line.med_list_codg), line),
            pric=line.pric,
            cnt=line.cnt,
            det_item_fee_sumamt=line.det_item_fee_sumamt,
            fee_ocur_time=call.placed(line.fee_ocur_time),
            hosp_appr_flag=line.hosp_appr_flag,
        )
        for line in body.feedetail
    ]
    result = visits.post_fees(
        uow,
        container=call.container,
        hospital=call.hospital,
        mdtrt_id=mdtrt_id,
        chrg_bchno=chrg_bchno,
        fees=fees,
    )
    keep_national_details(
        uow.session,
        mdtrt_id=mdtrt_id,
        details={line.feedetl_sn: kept_fields(line) for line in body.feedetail},
        now=call.now(),
    )
    return {"result": [line_2204(line) for line in result.lines]}


#: National fields never kept: a visit voucher's number is an identity number or a token.
NEVER_KEPT = frozenset({"mdtrt_cert_no"})


def kept_fields(part: BaseModel) -> dict[str, Any]:
    """The national fields of ``part`` Shuxin does not use, as sent (empty ones left out)."""
    extra = dict(part.model_extra or {})
    for used in ("medins_list_codg", "hosp_appr_flag"):  # used, and kept as sent too
        if getattr(part, used, None):
            extra[used] = getattr(part, used)
    return {
        name: value
        for name, value in jsonable_encoder(extra).items()
        if name not in NEVER_KEPT and value not in ("", None, [], {})
    }


def _item_name(item: Any, line: Line2204) -> str:
    if item is not None:
        return str(item.item_name)
    return (line.medins_list_codg or line.med_list_codg)[:200]


def _posted_alike(existing: Any, line: Line2204) -> bool:
    return (
        existing is not None
        and existing.chrg_bchno == line.chrg_bchno
        and existing.status in ("held", "billed")
        and from_fen(existing.det_item_fee_sumamt_fen) == line.det_item_fee_sumamt
        and existing.med_list_codg == line.med_list_codg
    )


def cancel_batch(uow: UnitOfWork, call: NationalCall, body: Input2205) -> dict[str, Any]:
    """2205: every held line of the batch (``0000``: of the visit) cancelled."""
    data = body.data
    visit = visits.visit_of(uow.session, call.hospital, data.mdtrt_id)
    same_patient(data.psn_no, visit.psn_no, f"visit {data.mdtrt_id}")
    batches.cancel_batch(
        uow,
        container=call.container,
        hospital=call.hospital,
        mdtrt_id=data.mdtrt_id,
        chrg_bchno=data.chrg_bchno,
    )
    return {}
