"""The national settlement answer (2206/2207/5203 ``setlinfo`` and ``setldetail``) from a split.

Shuxin's split (``insurance.split``) computes the contract's 14 figures; the national answer has
41 fields. The funds Shuxin does not model are present and zero; the person's fields come from
the insurance record the agreement was signed against, the visit's from the visit. Values here
are exact (``Decimal`` money, ``str`` codes): the REST presenter writes money as two-place
strings, the national endpoint as JSON numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from credit.identity import IdentityError, age_on, birth_date_of
from insurance.money import ZERO
from insurance.pricing import approval_refused
from settlement.billing.tables import Visit
from settlement.foundation.ports import PersonRecord

#: National item classes (chrgitm_lv): 01 甲类, 02 乙类, 03 丙类; the REST API keeps A/B/C.
NATIONAL_CHRGITM_LV = {"A": "01", "B": "02", "C": "03"}
#: National person types (psn_type, 人员类别) in the platform's 4-digit codes: Shuxin's 11
#: (employee in service) is 1101 职工在职, 12 (retired) 1201 职工退休; the REST API keeps 11/12.
NATIONAL_PSN_TYPE = {"11": "1101", "12": "1201"}
#: The funds of the employee scheme Shuxin settles (national fund_pay_type codes).
POOLED_FUND = ("310100", "职工基本医疗保险统筹基金")
PERSONAL_ACCOUNT = ("310200", "职工基本医疗保险个人账户")
#: The 2207 funds Shuxin does not model: always present, always zero.
UNMODELLED_FUNDS = (
    "cvlserv_pay",  # civil servants' subsidy
    "hifes_pay",  # enterprise supplementary insurance
    "hifmi_pay",  # residents' serious-illness insurance
    "hifob_pay",  # employees' large-amount subsidy
    "maf_pay",  # medical assistance
    "oth_pay",  # other
    "hosp_part_amt",  # the hospital's share
)
CERT_TYPE_RESIDENT_ID = "01"  # psn_cert_type: resident identity card
CIVIL_SERVANT_NO = "0"  # cvlserv_flag: Shuxin does not model the civil servants' subsidy
CLEARING_WAY_BY_ITEM = "1"  # clr_way: settled item by item
CLEARING_TYPE_OUTPATIENT = "11"  # clr_type: general outpatient
#: The national setlinfo of 2206/2207, in the order of the public field lists (41 fields).
SETLINFO_FIELDS = (
    "mdtrt_id",
    "setl_id",
    "psn_no",
    "psn_name",
    "psn_cert_type",
    "certno",
    "gend",
    "naty",
    "brdy",
    "age",
    "insutype",
    "psn_type",
    "cvlserv_flag",
    "setl_time",
    "mdtrt_cert_type",
    "med_type",
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
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
    "medins_setl_id",
    "clr_optins",
    "clr_way",
    "clr_type",
)
#: The setlinfo figures that are money (the rest are codes, names, times and the ratio).
MONEY_FIELDS = frozenset(
    (
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
        "act_pay_dedc",
        "hifp_pay",
        "fund_pay_sumamt",
        "psn_part_amt",
        "acct_pay",
        "psn_cash_pay",
        "balc",
        "acct_mulaid_pay",
        *UNMODELLED_FUNDS,
    )
)


@dataclass(frozen=True, slots=True)
class SetlSubject:
    """Who and what a split is about: the visit, the person's insurance record, when it settled.

    ``person`` is ``None`` only if the insurance platform no longer knows the person; their
    fields are then empty. ``medins_setl_id`` is the hospital-side id of the settlement: the
    bill's id (the national platform stores the sender's message id there; Shuxin's bill is
    what the HIS's 2207 made).
    """

    mdtrt_id: str
    med_type: str
    psn_no: str
    person: PersonRecord | None
    setl_time: datetime | None
    medins_setl_id: str
    mdtrt_cert_type: str = "02"  # the national client's usual: an identity number


def subject_of(
    visit: Visit, person: PersonRecord | None, *, setl_time: datetime | None, medins_setl_id: str
) -> SetlSubject:
    """The subject of a split of ``visit``'s lines."""
    return SetlSubject(
        mdtrt_id=visit.mdtrt_id,
        med_type=visit.med_type,
        psn_no=visit.psn_no,
        person=person,
        setl_time=setl_time,
        medins_setl_id=medins_setl_id,
    )


def _person_fields(person: PersonRecord | None, on: date) -> dict[str, object]:
    if person is None:
        return dict.fromkeys(
            ("psn_name", "certno", "gend", "brdy", "insutype", "psn_type", "clr_optins"), ""
        ) | {"age": None}
    try:
        brdy: str = birth_date_of(person.certno).isoformat()
        age: Decimal | None = Decimal(age_on(person.certno, on))
    except IdentityError:
        brdy, age = "", None
    # GB 11643: the 17th character is odd for men (gend 1), even for women (gend 2).
    sex_digit = person.certno[16:17]
    gend = "" if not sex_digit.isdigit() else ("1" if int(sex_digit) % 2 else "2")
    return {
        "psn_name": person.psn_name,
        "certno": person.certno,
        "gend": gend,
        "brdy": brdy,
        "age": age,
        "insutype": person.insutype,
        "psn_type": person.psn_type,
        # The clearing agency is the one of the person's insured place.
        "clr_optins": person.insuplc_admdvs,
    }


def national_setlinfo(
    setlinfo: Mapping[str, str], *, setl_id: str | None, subject: SetlSubject, on: date
) -> dict[str, object]:
    """The 41 national fields: money and the ratio as ``Decimal``, the rest ``str`` (``age`` a
    ``Decimal`` or ``None``, ``setl_time`` a ``datetime`` or ``None``, ``setl_id`` ``None``
    until settled). ``setlinfo`` is the contract's (two-place strings); ``on`` the day the age
    is counted on."""
    values: dict[str, object] = {
        "mdtrt_id": subject.mdtrt_id,
        "setl_id": setl_id,
        "psn_no": subject.psn_no,
        "psn_cert_type": CERT_TYPE_RESIDENT_ID,
        "naty": "",  # not on the insurance record Shuxin reads, and never used by it
        "cvlserv_flag": CIVIL_SERVANT_NO,
        "setl_time": subject.setl_time,
        "mdtrt_cert_type": subject.mdtrt_cert_type,
        "med_type": subject.med_type,
        "medins_setl_id": subject.medins_setl_id,
        "clr_way": CLEARING_WAY_BY_ITEM,
        "clr_type": CLEARING_TYPE_OUTPATIENT,
        **_person_fields(subject.person, on),
        **dict.fromkeys(UNMODELLED_FUNDS, ZERO),
    }
    for name in MONEY_FIELDS - set(UNMODELLED_FUNDS):
        values[name] = Decimal(setlinfo.get(name, "0.00"))
    values["pool_prop_selfpay"] = Decimal(setlinfo.get("pool_prop_selfpay", "0"))
    return {name: values[name] for name in SETLINFO_FIELDS}


def setldetail(setlinfo: Mapping[str, str]) -> list[dict[str, object]]:
    """The funds that paid, by ``fund_pay_type``: always the pooled fund (310100) and the
    personal account (310200), each with what it paid (``fund_payamt``).

    ``crt_payb_lmt_amt`` (what the fund could pay this time) equals ``fund_payamt``: the split
    has each fund pay all it may, after the deductible, the ratio, the annual cap and the
    account's balance.
    """
    inscp = Decimal(setlinfo.get("inscp_scp_amt", "0.00"))
    paid = {
        POOLED_FUND: Decimal(setlinfo.get("hifp_pay", "0.00")),
        PERSONAL_ACCOUNT: Decimal(setlinfo.get("acct_pay", "0.00")),
    }
    return [
        {
            "fund_pay_type": code,
            "fund_pay_type_name": name,
            "inscp_scp_amt": inscp,
            "crt_payb_lmt_amt": amount,
            "fund_payamt": amount,
            "setl_proc_info": "",
        }
        for (code, name), amount in paid.items()
    ]


#: The 2204 answer's flags Shuxin's catalogue does not carry, with the value it answers.
LINE_FLAGS = {
    "bas_medn_flag": "0",
    "hi_nego_drug_flag": "0",
    "chld_medc_flag": "0",
    "list_sp_item_flag": "0",
    "drt_reim_flag": "0",
}
#: med_chrgitm_type 14 (其他费): Shuxin's catalogue has no charge-item category yet.
OTHER_CHARGE_ITEM_TYPE = "14"
UNLISTED_MEMO = "目录外项目, 全自费 (not in the catalogue: class C, all self-paid)"
REFUSED_MEMO = "限制使用项目未获审批, 全自费 (restricted use not approved: all self-paid)"


def line_extras(
    *, unlisted: bool, lmt_used_flag: bool = False, hosp_appr_flag: str | None = None
) -> dict[str, str]:
    """The 2204 answer fields of a line beyond Shuxin's pricing (``pric_uplmt_amt`` aside)."""
    refused = approval_refused(lmt_used_flag, hosp_appr_flag)
    memo = UNLISTED_MEMO if unlisted else REFUSED_MEMO if refused else ""
    return {
        "med_chrgitm_type": OTHER_CHARGE_ITEM_TYPE,
        "lmt_used_flag": "1" if lmt_used_flag else "0",
        **LINE_FLAGS,
        "memo": memo,
    }
