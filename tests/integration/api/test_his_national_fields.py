"""The REST HIS answers carry what a national client reads: the 2207 setlinfo's 41 fields, a
setldetail per fund, the 2204 answer's line fields, a bill's final split, a batch cancel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fixtures.national import OUTPUT_2204_LINE, SETLDETAIL, SETLINFO_2207
from tests.integration.payments.support import login, pay

CONSULTATION = "001102000030000"  # class A, price cap 30.00
ULTRASOUND = "002203020010000"  # class B, self-pay 10 %, price cap 180.00
ADVICE = "001110000030000"  # class C, no cap
UNLISTED = "ZZ-NOT-IN-CATALOGUE"
UNMODELLED = ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def visit_with_lines(service, his, *lines, **person):
    patient, _ = service.enrol(balc="100.00", **person)
    mdtrt_id = his.open_visit(patient.psn_no).json()["mdtrt_id"]
    charged = his.charge(mdtrt_id, *lines)
    assert charged.status_code == 201, charged.text
    return patient, mdtrt_id, charged.json()


def test_presettle_carries_every_national_setlinfo_field_and_a_setldetail_per_fund(service, his):
    patient, mdtrt_id, _ = visit_with_lines(
        service, his, (CONSULTATION, "30.00", "1"), (ULTRASOUND, "180.00", "1")
    )
    body = his.post(f"/his/v1/visits/{mdtrt_id}/presettle").json()
    setlinfo = body["setlinfo"]
    assert set(SETLINFO_2207) <= set(setlinfo)
    assert all(setlinfo[name] == "0.00" for name in (*UNMODELLED, "hosp_part_amt"))
    assert setlinfo["psn_no"] == patient.psn_no
    assert setlinfo["psn_name"] == patient.psn_name
    assert setlinfo["certno"] == patient.certno
    assert setlinfo["brdy"] == "1980-05-01"  # the harness's default birth date
    assert setlinfo["age"] == "46"  # on 2026-11-23
    assert setlinfo["gend"] == ("1" if int(patient.certno[16]) % 2 else "2")
    assert (setlinfo["insutype"], setlinfo["psn_type"], setlinfo["med_type"]) == ("310", "11", "11")
    assert setlinfo["mdtrt_id"] == mdtrt_id and setlinfo["setl_id"] is None
    details = {fund["fund_pay_type"]: fund for fund in body["setldetail"]}
    assert set(details) == {"310100", "310200"}
    assert all(set(SETLDETAIL) <= set(fund) for fund in details.values())
    assert details["310100"]["fund_payamt"] == setlinfo["hifp_pay"]
    assert details["310200"]["fund_payamt"] == setlinfo["acct_pay"]
    money = Decimal
    assert money(setlinfo["fund_pay_sumamt"]) == money(details["310100"]["fund_payamt"])


def test_a_charge_answers_the_national_2204_line_fields(service, his):
    _, _, batch = visit_with_lines(
        service, his, (CONSULTATION, "30.00", "1"), (ADVICE, "30.00", "1"), (UNLISTED, "5", "2")
    )
    consultation, advice, unlisted = batch["fees"]
    for line in batch["fees"]:
        assert set(OUTPUT_2204_LINE) <= set(line)
    assert consultation["pric_uplmt_amt"] == "30.00"
    assert advice["pric_uplmt_amt"] is None
    assert consultation["chrgitm_lv"] == "A"  # the REST answer keeps A/B/C
    assert consultation["memo"] == "" and unlisted["memo"].startswith("目录外项目")
    assert unlisted["unlisted"] is True
    assert {line["lmt_used_flag"] for line in batch["fees"]} == {"0"}


def test_the_bill_shows_its_estimate_until_paid_then_the_settlement_that_stands(service, his):
    patient, mdtrt_id, _ = visit_with_lines(service, his, (ULTRASOUND, "180.00", "1"))
    bill_id = his.post(f"/his/v1/visits/{mdtrt_id}/close").json()["bill_id"]
    before = his.get(f"/his/v1/bills/{bill_id}")
    assert before.status_code == 200, before.text
    estimate = before.json()
    assert estimate["settled"] is False and estimate["status"] == "billed"
    assert estimate["setlinfo"]["setl_id"] is None
    assert estimate["setlinfo"]["medins_setl_id"] == bill_id
    assert set(SETLINFO_2207) <= set(estimate["setlinfo"])

    service.advance(hours=2)
    paid = pay(service, login(service, patient), bill_id)
    assert paid.status_code == 201, paid.text
    after = his.get(f"/his/v1/bills/{bill_id}").json()
    assert after["settled"] is True
    assert after["setlinfo"]["setl_id"] == paid.json()["setlinfo"]["setl_id"]
    assert after["setlinfo"]["setl_time"] is not None
    for name in ("medfee_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay", "balc"):
        assert after["setlinfo"][name] == paid.json()["setlinfo"][name], name
    funds = {fund["fund_pay_type"]: fund["fund_payamt"] for fund in after["setldetail"]}
    assert funds == {
        "310100": after["setlinfo"]["hifp_pay"],
        "310200": after["setlinfo"]["acct_pay"],
    }


def test_another_hospitals_bill_is_not_found(service, his):
    _, mdtrt_id, _ = visit_with_lines(service, his, (CONSULTATION, "30.00", "1"))
    bill_id = his.post(f"/his/v1/visits/{mdtrt_id}/close").json()["bill_id"]
    answer = service.hospitals["H1"].get(f"/his/v1/bills/{bill_id}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_batch_cancel_releases_only_that_batch_and_0000_releases_every_held_line(service, his):
    patient, line = service.enrol()
    mdtrt_id = his.open_visit(patient.psn_no).json()["mdtrt_id"]
    first = his.charge(mdtrt_id, (CONSULTATION, "30.00", "1"), (ADVICE, "30.00", "1")).json()
    second = his.charge(mdtrt_id, (ULTRASOUND, "180.00", "1")).json()
    cancelled = his.delete(f"/his/v1/visits/{mdtrt_id}/batches/{first['chrg_bchno']}")
    assert cancelled.status_code == 200, cancelled.text
    statuses = {fee["chrg_bchno"]: set() for fee in cancelled.json()["fees"]}
    for fee in cancelled.json()["fees"]:
        statuses[fee["chrg_bchno"]].add(fee["status"])
    assert statuses == {first["chrg_bchno"]: {"cancelled"}, second["chrg_bchno"]: {"held"}}
    assert cancelled.json()["medfee_sumamt"] == "180.00"
    assert Decimal(cancelled.json()["available"]) == line - Decimal("180.00")

    again = his.delete(f"/his/v1/visits/{mdtrt_id}/batches/{first['chrg_bchno']}")
    assert again.status_code == 200 and again.json()["medfee_sumamt"] == "180.00"

    everything = his.delete(f"/his/v1/visits/{mdtrt_id}/batches/0000")
    assert everything.status_code == 200, everything.text
    assert {fee["status"] for fee in everything.json()["fees"]} == {"cancelled"}
    assert Decimal(everything.json()["available"]) == line


def test_a_batch_cancel_of_an_unknown_batch_or_a_closed_visit_is_refused(service, his):
    patient, _ = service.enrol()
    mdtrt_id = his.open_visit(patient.psn_no).json()["mdtrt_id"]
    batch = his.charge(mdtrt_id, (CONSULTATION, "30.00", "1")).json()
    unknown = his.delete(f"/his/v1/visits/{mdtrt_id}/batches/NO-SUCH-BATCH")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    his.post(f"/his/v1/visits/{mdtrt_id}/close")
    closed = his.delete(f"/his/v1/visits/{mdtrt_id}/batches/{batch['chrg_bchno']}")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "visit_closed")


def test_a_refund_answers_what_each_fund_pays_of_the_new_split(service, his):
    patient, mdtrt_id, batch = visit_with_lines(
        service, his, (CONSULTATION, "30.00", "1"), (ULTRASOUND, "180.00", "1")
    )
    bill_id = his.post(f"/his/v1/visits/{mdtrt_id}/close").json()["bill_id"]
    service.advance(hours=2)
    assert pay(service, login(service, patient), bill_id).status_code == 201
    refund = {"feedetl_sn": [batch["fees"][0]["feedetl_sn"]], "reason": "退费"}
    answer = his.post(f"/his/v1/bills/{bill_id}/refunds", refund)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    funds = {fund["fund_pay_type"]: fund["fund_payamt"] for fund in body["setldetail"]}
    assert funds == {"310100": body["setlinfo"]["hifp_pay"], "310200": body["setlinfo"]["acct_pay"]}
    assert set(body["setlinfo"]) == set(SETLINFO_2207) & set(body["setlinfo"])  # the contract's 15
