"""The national envelope and each call's ``input``, as public HIS code sends them.

National fields Shuxin does not use are accepted (``extra="allow"``), never refused: an HIS's
client sends the whole national message. Times are ``yyyy-MM-dd HH:mm:ss`` in the region's zone
(read here as naive times; ``api.national.calls`` puts them in the configured zone); money is a
JSON number or string, with the REST API's limits.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from api.schemas.types import (
    Money,
    PsnNo,
    Quantity,
    RequestModel,
    ResponseModel,
    Text50,
    Text64,
    Text100,
    UnitPrice,
)

#: The calls Shuxin answers in the national shape.
INFNOS = ("2201", "2204", "2205", "2206", "2207", "2208", "3201", "5203")
NATIONAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_NATIONAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _national_time(value: object) -> object:
    if not isinstance(value, str) or not _NATIONAL_TIME.fullmatch(value):
        raise ValueError("must be a national time, yyyy-MM-dd HH:mm:ss: 2026-11-23 09:30:00")
    try:
        return datetime.strptime(value, NATIONAL_TIME_FORMAT)
    except ValueError:
        raise ValueError(f"{value} is not a calendar time") from None


#: ``2026-11-23 09:30:00``: a local time in the region's zone (naive until the call places it).
NationalTime = Annotated[
    datetime,
    BeforeValidator(_national_time),
    Field(examples=["2026-11-23 09:30:00"], description="yyyy-MM-dd HH:mm:ss, the region's zone"),
]
NationalDay = Annotated[date, Field(examples=["2026-11-23"], description="yyyy-MM-dd")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


class NationalModel(RequestModel):
    """An ``input`` part: the national fields Shuxin does not use are accepted as they come."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)


class NationalRequest(NationalModel):
    """The national request envelope (the fields beyond these, such as ``infver``,
    ``opter``, ``sign_no``, ``mdtrtarea_admvs``, are accepted and not used)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "infno": "2201",
                    "msgid": "H37140200001202611230930000001",
                    "fixmedins_code": "H37140200001",
                    "inf_time": "2026-11-23 09:30:00",
                    "infver": "V1.0",
                    "opter": "001",
                    "opter_name": "收费员",
                    "input": {
                        "data": {
                            "psn_no": "37140000000000000001",
                            "insutype": "310",
                            "begntime": "2026-11-23 09:30:00",
                            "mdtrt_cert_type": "02",
                            "mdtrt_cert_no": "371402197803120016",
                            "ipt_otp_no": "MZ20261123000123",
                            "atddr_no": "D0001",
                            "dr_name": "王医生",
                            "dept_code": "A03.01",
                            "dept_name": "心血管内科",
                            "caty": "A03",
                        }
                    },
                }
            ]
        },
    )

    infno: Annotated[str, Field(description="the call: " + ", ".join(INFNOS))]
    msgid: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            pattern=r"^[\x21-\x7e]+$",
            description="the sender's message id: a retry with the same msgid gets the first "
            "answer again and changes nothing",
        ),
    ]
    fixmedins_code: Annotated[str, Field(description="must be the signing hospital's code")]
    inf_time: Annotated[str, Field(description="when sent, yyyy-MM-dd HH:mm:ss")] = ""
    input: dict[str, Any] = Field(
        description="the call's national input: `data`, or `feedetail` for 2204"
    )


class NationalAnswer(ResponseModel):
    """The national answer envelope: ``infcode`` 0 (done) or -1 (refused, ``err_msg`` says
    why: ``<stable code>: <human message>``), always HTTP 200 for a business outcome."""

    infcode: Literal[0, -1]
    inf_refmsgid: str = Field(description="Shuxin's id for this answer")
    refmsg_time: str = Field(description="when the request was received, yyyy-MM-dd HH:mm:ss")
    respond_time: str = Field(description="when answered, yyyy-MM-dd HH:mm:ss")
    err_msg: str
    warn_msg: str
    cainfo: str
    signtype: str
    output: dict[str, Any]


class Visit2201(NationalModel):
    psn_no: PsnNo
    ipt_otp_no: Text64
    begntime: NationalTime
    dept_code: Text64
    dept_name: Text100
    dr_name: Text50
    med_type: Literal["11", "13", "14"] = Field(
        default="11", description="not in the national 2201 (it comes with 2207): 11 unless sent"
    )


class Input2201(NationalModel):
    data: Visit2201


class Line2204(NationalModel):
    feedetl_sn: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[\x21-\x7e]+$")]
    mdtrt_id: Code
    psn_no: PsnNo
    chrg_bchno: Code
    fee_ocur_time: NationalTime
    med_list_codg: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[\x21-\x7e]+$")]
    medins_list_codg: Annotated[str, Field(max_length=150)] = ""
    det_item_fee_sumamt: Money
    cnt: Quantity
    pric: UnitPrice
    #: 医院审批标志: 0 no approval needed, 1 approved, 2 not approved (restricted-use items).
    hosp_appr_flag: Literal["0", "1", "2"] | None = None

    @field_validator("hosp_appr_flag", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class Input2204(NationalModel):
    feedetail: Annotated[list[Line2204], Field(min_length=1, max_length=500)]


class Batch2205(NationalModel):
    mdtrt_id: Code
    chrg_bchno: Code
    psn_no: PsnNo


class Input2205(NationalModel):
    data: Batch2205


class Settle2207(NationalModel):
    """2206 and 2207 alike: the HIS's total is checked against Shuxin's."""

    psn_no: PsnNo
    mdtrt_id: Code
    medfee_sumamt: Money


class Input2207(NationalModel):
    data: Settle2207


class Reverse2208(NationalModel):
    setl_id: Code
    mdtrt_id: Code
    psn_no: PsnNo


class Input2208(NationalModel):
    data: Reverse2208


class Statement3201(NationalModel):
    stmt_begndate: NationalDay
    stmt_enddate: NationalDay
    medfee_sumamt: Money
    fund_pay_sumamt: Money
    acct_pay: Money
    fixmedins_setl_cnt: Annotated[int, Field(ge=0, le=10_000_000)]


class Input3201(NationalModel):
    data: Statement3201


class Query5203(NationalModel):
    psn_no: PsnNo
    setl_id: Code
    mdtrt_id: Code | None = None


class Input5203(NationalModel):
    data: Query5203
