"""The settlement's ``setlinfo``: the contract's 15 fields, and for the HIS answers the national
2207 answer's 41 fields and its ``setldetail`` (``api.national.setlinfo`` builds them)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from api.schemas.types import MoneyText, ResponseModel

#: The split of the example bill's 240.00: class C 30.00 and class B's first 10 % (18.00) are the
#: patient's; of the 192.00 in scope, 100.00 completes the deductible and the fund pays 50 % of
#: the rest.
SETLINFO_EXAMPLE: JsonDict = {
    "medfee_sumamt": "240.00",
    "fulamt_ownpay_amt": "30.00",
    "overlmt_selfpay": "0.00",
    "preselfpay_amt": "18.00",
    "inscp_scp_amt": "192.00",
    "act_pay_dedc": "100.00",
    "hifp_pay": "46.00",
    "pool_prop_selfpay": "0.50",
    "fund_pay_sumamt": "46.00",
    "psn_part_amt": "194.00",
    "acct_pay": "100.00",
    "acct_mulaid_pay": "0.00",
    "psn_cash_pay": "94.00",
    "balc": "0.00",
    "setl_id": None,
}
#: The same split as the HIS answers carry it: the national fields beyond the contract's.
HIS_SETLINFO_EXAMPLE: JsonDict = {
    **SETLINFO_EXAMPLE,
    "mdtrt_id": "MD20261123A1B2C3D4E5F6",
    "psn_no": "37140000000000000001",
    "psn_name": "张三",
    "psn_cert_type": "01",
    "certno": "371402197803120016",
    "gend": "1",
    "naty": "",
    "brdy": "1978-03-12",
    "age": "48",
    "insutype": "310",
    "psn_type": "11",
    "cvlserv_flag": "0",
    "setl_time": None,
    "mdtrt_cert_type": "02",
    "med_type": "11",
    "cvlserv_pay": "0.00",
    "hifes_pay": "0.00",
    "hifmi_pay": "0.00",
    "hifob_pay": "0.00",
    "maf_pay": "0.00",
    "oth_pay": "0.00",
    "hosp_part_amt": "0.00",
    "medins_setl_id": "BL20261123A1B2C3D4E5F6",
    "clr_optins": "371400",
    "clr_way": "1",
    "clr_type": "11",
}
SETLDETAIL_EXAMPLE: list[JsonValue] = [
    {
        "fund_pay_type": "310100",
        "fund_pay_type_name": "职工基本医疗保险统筹基金",
        "inscp_scp_amt": "192.00",
        "crt_payb_lmt_amt": "46.00",
        "fund_payamt": "46.00",
        "setl_proc_info": "",
    },
    {
        "fund_pay_type": "310200",
        "fund_pay_type_name": "职工基本医疗保险个人账户",
        "inscp_scp_amt": "192.00",
        "crt_payb_lmt_amt": "100.00",
        "fund_payamt": "100.00",
        "setl_proc_info": "",
    },
]


class SetlInfoPublic(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SETLINFO_EXAMPLE]})

    medfee_sumamt: MoneyText
    fulamt_ownpay_amt: MoneyText
    overlmt_selfpay: MoneyText
    preselfpay_amt: MoneyText
    inscp_scp_amt: MoneyText
    act_pay_dedc: MoneyText
    hifp_pay: MoneyText
    pool_prop_selfpay: str = Field(description="the pooled fund ratio applied, e.g. 0.50")
    fund_pay_sumamt: MoneyText
    psn_part_amt: MoneyText
    acct_pay: MoneyText
    acct_mulaid_pay: MoneyText
    psn_cash_pay: MoneyText
    balc: MoneyText
    setl_id: str | None = None


class HisSetlInfoPublic(SetlInfoPublic):
    """Every field of the national 2207 answer's ``setlinfo``: the funds Shuxin does not model
    are ``"0.00"``; the person's fields are the insurance record's; ``setl_time`` is when the
    bill was settled (``null`` before)."""

    model_config = ConfigDict(json_schema_extra={"examples": [HIS_SETLINFO_EXAMPLE]})

    mdtrt_id: str
    psn_no: str
    psn_name: str
    psn_cert_type: str = Field(description="01: resident identity card")
    certno: str
    gend: str = Field(description="1 male, 2 female (from the identity number)")
    naty: str = Field(description="not recorded by Shuxin: always empty")
    brdy: str = Field(description="birth date, YYYY-MM-DD")
    age: str | None = Field(description="whole years on the day of the answer")
    insutype: str
    psn_type: str
    cvlserv_flag: str = Field(description="0: Shuxin does not model the civil servants' subsidy")
    setl_time: str | None
    mdtrt_cert_type: str
    med_type: str
    cvlserv_pay: MoneyText
    hifes_pay: MoneyText
    hifmi_pay: MoneyText
    hifob_pay: MoneyText
    maf_pay: MoneyText
    oth_pay: MoneyText
    hosp_part_amt: MoneyText
    medins_setl_id: str = Field(description="the bill's id (the HIS's 2207 made the bill)")
    clr_optins: str = Field(description="the clearing agency: the person's insured place")
    clr_way: str
    clr_type: str


class SetlDetailPublic(ResponseModel):
    """What one fund paid (national ``setldetail``)."""

    fund_pay_type: Literal["310100", "310200"] = Field(
        description="310100 employee pooled fund, 310200 employee personal account"
    )
    fund_pay_type_name: str
    inscp_scp_amt: MoneyText
    crt_payb_lmt_amt: MoneyText = Field(
        description="what the fund could pay this time: all it paid (the split has each fund "
        "pay all it may)"
    )
    fund_payamt: MoneyText
    setl_proc_info: str
