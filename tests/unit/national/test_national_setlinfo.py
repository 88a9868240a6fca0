"""The national setlinfo and setldetail of any split: every national field, the contract's money
unchanged to the fen, the national identities exact, the unmodelled funds zero (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.national.setlinfo import (
    UNMODELLED_FUNDS,
    SetlSubject,
    national_setlinfo,
    setldetail,
)
from settlement.foundation.ports import PersonRecord
from tests.fixtures.national import SETLDETAIL, SETLINFO_2207
from tests.unit.insurance.builders import split
from tests.unit.insurance.test_insurance_properties import bills, fen_amounts, price

PERSON = PersonRecord(
    psn_no="37140000000000000001",
    psn_name="张三",
    certno="371402197803120016",
    phone="",
    insutype="310",
    psn_type="11",
    status="active",
    balc=Decimal("100.00"),
    insuplc_admdvs="371400",
)
SUBJECT = SetlSubject(
    mdtrt_id="MD1",
    med_type="11",
    psn_no=PERSON.psn_no,
    person=PERSON,
    setl_time=datetime(2026, 11, 24, 0, 10, tzinfo=UTC),
    medins_setl_id="BL1",
)


@given(
    raw=bills,
    level=st.sampled_from([1, 2, 3]),
    psn_type=st.sampled_from(["11", "12"]),
    balance=fen_amounts,
    deductible_used=st.sampled_from(["0.00", "100.00", "200.00"]),
)
def test_the_national_setlinfo_keeps_the_split_to_the_fen_and_its_identities(
    raw, level, psn_type, balance, deductible_used
):
    settlement = split(
        price(raw),
        level=level,
        psn_type=psn_type,
        balance=f"{balance:.2f}",
        deductible_used=deductible_used,
    )
    contract = settlement.setlinfo.as_dict()
    national = national_setlinfo(contract, setl_id="BL1", subject=SUBJECT, on=date(2026, 11, 24))
    assert list(national) == list(SETLINFO_2207)
    for name, text in contract.items():
        assert national[name] == Decimal(text), name
    assert all(national[name] == 0 for name in UNMODELLED_FUNDS)
    parts = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    assert national["medfee_sumamt"] == sum(national[name] for name in parts)
    assert national["psn_part_amt"] == national["acct_pay"] + national["psn_cash_pay"]
    assert national["medfee_sumamt"] == national["fund_pay_sumamt"] + national["psn_part_amt"]
    funds = {fund["fund_pay_type"]: fund for fund in setldetail(contract)}
    assert all(set(fund) == set(SETLDETAIL) for fund in funds.values())
    assert funds["310100"]["fund_payamt"] == national["hifp_pay"] == national["fund_pay_sumamt"]
    assert funds["310200"]["fund_payamt"] == national["acct_pay"]


def test_the_person_fields_come_from_the_identity_number_and_the_insurance_record():
    national = national_setlinfo(
        split([]).setlinfo.as_dict(), setl_id=None, subject=SUBJECT, on=date(2026, 11, 24)
    )
    assert (national["brdy"], national["age"], national["gend"]) == ("1978-03-12", 48, "1")
    assert (national["psn_cert_type"], national["naty"], national["clr_optins"]) == (
        "01",
        "",
        "371400",
    )
    nobody = SetlSubject(
        mdtrt_id="MD1", med_type="11", psn_no="X", person=None, setl_time=None, medins_setl_id=""
    )
    empty = national_setlinfo({}, setl_id=None, subject=nobody, on=date(2026, 11, 24))
    assert empty["psn_name"] == "" and empty["age"] is None and empty["medfee_sumamt"] == 0
