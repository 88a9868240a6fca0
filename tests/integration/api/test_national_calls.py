"""An HIS's national insurance client calls Shuxin: recorded national-shape requests go through
``POST /his/v1/national`` and every answer has every national field, with the national types."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.national import (
    ANSWER_ENVELOPE,
    INPUT_2204_LINE,
    OUTPUT_2201,
    OUTPUT_2204_LINE,
    SETLDETAIL,
    SETLINFO_2207,
    SETLINFO_2208,
    STMTINFO_3201,
    conforms,
)
from tests.integration.payments.support import login, pay

CONSULTATION = "001102000030000"  # class A, price cap 30.00
ULTRASOUND = "002203020010000"  # class B, self-pay 10 %, price cap 180.00
ADVICE = "001110000030000"  # class C
_msg = itertools.count(1)


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def national(his, infno: str, input_: dict[str, Any], *, msgid: str | None = None, **envelope):
    """Send a national message as an HIS's insurance client does; the parsed answer."""
    message = {
        "infno": infno,
        "msgid": msgid or f"{his.code}20261123093000{next(_msg):04d}",
        "mdtrtarea_admvs": "371402",
        "insuplc_admdvs": "371400",
        "recer_sys_code": "MBS_LOCAL",
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": "SM2",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员",
        "inf_time": "2026-11-23 09:30:00",
        "fixmedins_code": his.code,
        "fixmedins_name": "测试医院",
        "sign_no": "",
        "input": input_,
        **envelope,
    }
    answer = his.post("/his/v1/national", message)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert conforms(body, ANSWER_ENVELOPE) == []
    body["replayed"] = answer.headers.get("Idempotent-Replayed") == "true"
    return body


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert body["infcode"] == 0, body["err_msg"]
    assert body["err_msg"] == ""
    return body["output"]


def visit_2201(psn_no: str, ipt_otp_no: str = "MZ20261123000123") -> dict[str, Any]:
    return {
        "data": {
            "psn_no": psn_no,
            "insutype": "310",
            "begntime": "2026-11-23 09:30:00",
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "",
            "ipt_otp_no": ipt_otp_no,
            "atddr_no": "D0001",
            "dr_name": "王医生",
            "dept_code": "A03.01",
            "dept_name": "心血管内科",
            "caty": "A03",
        }
    }


def line_2204(mdtrt_id, psn_no, chrg_bchno, sn, codg, pric, cnt="1") -> dict[str, Any]:
    """A 2204 feedetail line with every national field an HIS sends."""
    amount = (Decimal(pric) * Decimal(cnt)).quantize(Decimal("0.01"))
    line: dict[str, Any] = dict.fromkeys(INPUT_2204_LINE, "")
    line.update(
        feedetl_sn=sn,
        mdtrt_id=mdtrt_id,
        psn_no=psn_no,
        chrg_bchno=chrg_bchno,
        fee_ocur_time="2026-11-23 09:45:00",
        med_list_codg=codg,
        medins_list_codg=f"H-{codg}",
        det_item_fee_sumamt=float(amount),
        cnt=float(Decimal(cnt)),
        pric=float(Decimal(pric)),
        prd_days=0,
        rx_circ_flag="0",
        hosp_appr_flag="1",
        bilg_dept_codg="A03.01",
        bilg_dept_name="心血管内科",
        bilg_dr_codg="D0001",
        bilg_dr_name="王医生",
        dise_codg="I10",
        rxno="RX0001",
    )
    return line


def settle_data(psn_no, mdtrt_id, medfee_sumamt) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": psn_no,
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": "",
            "med_type": "11",
            "medfee_sumamt": medfee_sumamt,
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "0000",
            "insutype": "310",
            "acct_used_flag": "1",
            "invono": "",
            "fulamt_ownpay_amt": 0,
            "overlmt_selfpay": 0,
            "preselfpay_amt": 0,
            "inscp_scp_amt": 0,
        }
    }


def whole_visit(his, psn_no: str, ipt_otp_no: str = "MZ20261123000123") -> dict[str, Any]:
    """2201, two 2204 batches, 2205 of the second, 2206 and 2207: each answer by call."""
    answers: dict[str, Any] = {"2201": ok(national(his, "2201", visit_2201(psn_no, ipt_otp_no)))}
    mdtrt_id = answers["2201"]["data"]["mdtrt_id"]
    first = [
        line_2204(mdtrt_id, psn_no, "CB01", "F0001", CONSULTATION, "30.00"),
        line_2204(mdtrt_id, psn_no, "CB01", "F0002", ULTRASOUND, "180.00"),
        line_2204(mdtrt_id, psn_no, "CB01", "F0003", ADVICE, "30.00"),
    ]
    answers["2204"] = ok(national(his, "2204", {"feedetail": first}))
    second = [line_2204(mdtrt_id, psn_no, "CB02", "F0004", CONSULTATION, "20.00")]
    ok(national(his, "2204", {"feedetail": second}))
    cancel = {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "CB02", "psn_no": psn_no}}
    answers["2205"] = ok(national(his, "2205", cancel))
    answers["2206"] = ok(national(his, "2206", settle_data(psn_no, mdtrt_id, 240.00)))
    answers["2207"] = ok(national(his, "2207", settle_data(psn_no, mdtrt_id, 240.00)))
    answers["mdtrt_id"] = mdtrt_id
    return answers


def test_a_whole_visit_in_the_national_shape_answers_every_national_field(service, his):
    patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    answers = whole_visit(his, patient.psn_no)
    assert conforms(answers["2201"]["data"], OUTPUT_2201) == []
    lines = answers["2204"]["result"]
    assert [conforms(line, OUTPUT_2204_LINE) for line in lines] == [[], [], []]
    assert [line["chrgitm_lv"] for line in lines] == ["01", "02", "03"]
    assert [line["pric_uplmt_amt"] for line in lines] == [30, 180, 0]
    assert lines[1]["preselfpay_amt"] == 18 and lines[2]["fulamt_ownpay_amt"] == 30
    for call in ("2206", "2207"):
        assert conforms(answers[call]["setlinfo"], SETLINFO_2207) == [], call
        assert [conforms(fund, SETLDETAIL) for fund in answers[call]["setldetail"]] == [[], []]
    setlinfo = answers["2207"]["setlinfo"]
    assert setlinfo["medfee_sumamt"] == 240
    assert (setlinfo["hifp_pay"], setlinfo["acct_pay"], setlinfo["psn_cash_pay"]) == (46, 100, 94)
    assert (
        setlinfo["setl_id"].startswith("BL") and setlinfo["medins_setl_id"] == setlinfo["setl_id"]
    )
    assert setlinfo["setl_time"] == "2026-11-23 09:30:00"  # the service clock, Asia/Shanghai
    assert setlinfo["certno"] == patient.certno and setlinfo["cvlserv_pay"] == 0

    read = ok(
        national(his, "5203", {"data": {"psn_no": patient.psn_no, "setl_id": setlinfo["setl_id"]}})
    )
    assert conforms(read["setlinfo"], SETLINFO_2207) == []
    assert read["setlinfo"]["hifp_pay"] == 46 and read["bill"]["settled"] is False


def test_the_same_visit_through_rest_and_national_makes_the_same_rows_ledger_and_money(
    service, his
):
    national_patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    rest_patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    answers = whole_visit(his, national_patient.psn_no)

    rest_id = his.open_visit(rest_patient.psn_no, ipt_otp_no="MZ-REST").json()["mdtrt_id"]
    fee = {"item_name": "x", "cnt": "1", "fee_ocur_time": "2026-11-23T09:45:00+08:00"}
    batch = [
        {**fee, "feedetl_sn": "F0001", "med_list_codg": CONSULTATION, "pric": "30.00"},
        {**fee, "feedetl_sn": "F0002", "med_list_codg": ULTRASOUND, "pric": "180.00"},
        {**fee, "feedetl_sn": "F0003", "med_list_codg": ADVICE, "pric": "30.00"},
    ]
    for line in batch:
        line["det_item_fee_sumamt"] = line["pric"]
    assert (
        his.post(
            f"/his/v1/visits/{rest_id}/fees", {"chrg_bchno": "CB01", "fees": batch}
        ).status_code
        == 201
    )
    extra = {**fee, "feedetl_sn": "F0004", "med_list_codg": CONSULTATION, "pric": "20.00"}
    extra["det_item_fee_sumamt"] = "20.00"
    his.post(f"/his/v1/visits/{rest_id}/fees", {"chrg_bchno": "CB02", "fees": [extra]})
    assert his.delete(f"/his/v1/visits/{rest_id}/batches/CB02").status_code == 200
    presettled = his.post(f"/his/v1/visits/{rest_id}/presettle").json()["setlinfo"]
    closed = his.post(f"/his/v1/visits/{rest_id}/close").json()

    national_id = answers["mdtrt_id"]
    assert rows(service, national_id) == rows(service, rest_id)
    assert ledger(service, national_id) == ledger(service, rest_id)
    for name in ("medfee_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay", "fund_pay_sumamt"):
        assert Decimal(str(answers["2206"]["setlinfo"][name])) == Decimal(presettled[name]), name
        assert Decimal(str(answers["2207"]["setlinfo"][name])) == Decimal(closed["estimate"][name])
    bill = his.get(f"/his/v1/bills/{answers['2207']['setlinfo']['setl_id']}").json()
    assert bill["setlinfo"]["hifp_pay"] == closed["estimate"]["hifp_pay"]
    assert bill["medfee_sumamt"] == closed["medfee_sumamt"]


def rows(service, mdtrt_id: str) -> list[tuple[Any, ...]]:
    """A visit's fee lines as stored, without what names the visit or the moment."""
    from sqlalchemy import select

    from settlement.billing.tables import FeeLine

    with service.container.uow() as uow:
        lines = uow.session.scalars(
            select(FeeLine).where(FeeLine.mdtrt_id == mdtrt_id).order_by(FeeLine.feedetl_sn)
        ).all()
        return [
            (
                line.feedetl_sn,
                line.chrg_bchno,
                line.med_list_codg,
                line.pric,
                line.cnt,
                line.det_item_fee_sumamt_fen,
                line.chrgitm_lv,
                line.selfpay_prop,
                line.fulamt_ownpay_amt_fen,
                line.overlmt_amt_fen,
                line.preselfpay_amt_fen,
                line.inscp_scp_amt_fen,
                line.pric_uplmt_amt,
                line.lmt_used_flag,
                line.status,
            )
            for line in lines
        ]


def ledger(service, mdtrt_id: str) -> list[tuple[str, str, int]]:
    """A visit's ledger transfers: kind, code and amount, in a stable order."""
    from sqlalchemy import select

    from settlement.ledger.tables import LedgerTransfer

    with service.container.uow() as uow:
        found = uow.session.execute(
            select(LedgerTransfer.kind, LedgerTransfer.code, LedgerTransfer.amount).where(
                LedgerTransfer.reference == mdtrt_id
            )
        ).all()
        return sorted((kind, code, int(amount)) for kind, code, amount in found)


def test_business_refusals_are_http_200_with_infcode_minus_1_and_the_stable_code(service, his):
    patient, line = service.enrol()
    mdtrt_id = ok(national(his, "2201", visit_2201(patient.psn_no)))["data"]["mdtrt_id"]
    too_much = [line_2204(mdtrt_id, patient.psn_no, "CB01", "F1", ADVICE, "5000.00")]
    refused = national(his, "2204", {"feedetail": too_much})
    assert refused["infcode"] == -1 and refused["output"] == {}
    assert refused["err_msg"].startswith("insufficient_credit: ")
    assert f"{line:.2f}" in refused["err_msg"]  # the clerk sees what is available

    wrong_time = [line_2204(mdtrt_id, patient.psn_no, "CB01", "F1", ADVICE, "9.00")]
    wrong_time[0]["fee_ocur_time"] = "2026-11-23T09:45:00+08:00"
    answer = national(his, "2204", {"feedetail": wrong_time})
    assert answer["infcode"] == -1
    assert answer["err_msg"].startswith("validation_error: input.feedetail.0.fee_ocur_time")

    other = national(his, "2201", visit_2201(patient.psn_no, "MZ2"), fixmedins_code="H1")
    assert other["infcode"] == -1 and other["err_msg"].startswith("forbidden: ")
    unknown = national(his, "1101", {"data": {"psn_no": patient.psn_no}})
    assert unknown["infcode"] == -1 and unknown["err_msg"].startswith("validation_error: infno")
    wrong_total = national(his, "2207", settle_data(patient.psn_no, mdtrt_id, 1.00))
    assert wrong_total["err_msg"].startswith("amount_mismatch: ")


def test_retries_are_recognised_by_msgid_and_by_business_keys(service, his):
    patient, line = service.enrol()
    opened = national(his, "2201", visit_2201(patient.psn_no), msgid="M-OPEN-1")
    replayed = national(his, "2201", visit_2201(patient.psn_no), msgid="M-OPEN-1")
    assert replayed["replayed"] is True and replayed["output"] == opened["output"]
    again = national(his, "2201", visit_2201(patient.psn_no))  # a new msgid, same ipt_otp_no
    assert ok(again) == ok(opened)
    mdtrt_id = opened["output"]["data"]["mdtrt_id"]

    batch = {"feedetail": [line_2204(mdtrt_id, patient.psn_no, "CB01", "F1", ADVICE, "30.00")]}
    first = ok(national(his, "2204", batch))
    assert ok(national(his, "2204", batch)) == first  # a new msgid, the same chrg_bchno
    credit = his.get(f"/his/v1/patients/{patient.psn_no}/credit").json()
    assert Decimal(credit["on_hold"]) == Decimal("30.00")  # held once
    assert Decimal(credit["available"]) == line - Decimal("30.00")

    reused = national(his, "2201", visit_2201(patient.psn_no, "MZ-OTHER"), msgid="M-OPEN-1")
    assert reused["err_msg"].startswith("idempotency_key_reused: ")


def test_2208_reverses_the_whole_settlement_with_negative_amounts_and_a_new_setl_id(service, his):
    patient, line = service.enrol(balc="100.00", ytd_dedc="100.00")
    answers = whole_visit(his, patient.psn_no)
    setl_id = answers["2207"]["setlinfo"]["setl_id"]
    service.advance(hours=2)
    paid = pay(service, login(service, patient), setl_id)
    assert paid.status_code == 201, paid.text
    settled = ok(national(his, "5203", {"data": {"psn_no": patient.psn_no, "setl_id": setl_id}}))
    assert settled["bill"]["settled"] is True

    reverse = {
        "data": {"setl_id": setl_id, "mdtrt_id": answers["mdtrt_id"], "psn_no": patient.psn_no}
    }
    reversed_ = ok(national(his, "2208", reverse))
    info = reversed_["setlinfo"]
    assert conforms(info, SETLINFO_2208) == []
    assert info["setl_id"] != setl_id and info["medins_setl_id"] == setl_id
    for name in ("medfee_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay", "fund_pay_sumamt"):
        assert info[name] == -settled["setlinfo"][name], name
    funds = {fund["fund_pay_type"]: fund["fund_payamt"] for fund in reversed_["setldetail"]}
    assert funds == {"310100": -46, "310200": -100}
    bill = his.get(f"/his/v1/bills/{setl_id}").json()
    assert bill["status"] == "refunded" and bill["medfee_sumamt"] == "0.00"
    credit = his.get(f"/his/v1/patients/{patient.psn_no}/credit").json()
    assert Decimal(credit["available"]) == line

    twice = national(his, "2208", reverse)  # a retry under a new msgid
    assert ok(twice) == reversed_  # the reversal as it was answered, nothing refunded twice
    assert his.get(f"/his/v1/bills/{setl_id}").json()["status"] == "refunded"
    refunded_by_rest = whole_visit(his, service.enrol()[0].psn_no, "MZ-REFUNDED-BY-REST")
    rest_bill = refunded_by_rest["2207"]["setlinfo"]["setl_id"]
    sns = {"feedetl_sn": ["F0001", "F0002", "F0003"], "reason": "退费"}
    assert his.post(f"/his/v1/bills/{rest_bill}/refunds", sns).status_code == 200
    psn_no = refunded_by_rest["2207"]["setlinfo"]["psn_no"]
    again = {
        "data": {"setl_id": rest_bill, "mdtrt_id": refunded_by_rest["mdtrt_id"], "psn_no": psn_no}
    }
    assert national(his, "2208", again)["err_msg"].startswith("already_refunded: ")


def test_3201_compares_the_his_totals_with_the_bills_closed_in_the_period(service, his):
    patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    whole_visit(his, patient.psn_no)
    statement = {
        "insutype": "310",
        "clr_type": "11",
        "setl_optins": "371400",
        "stmt_begndate": "2026-11-23",
        "stmt_enddate": "2026-11-23",
        "medfee_sumamt": 240.00,
        "fund_pay_sumamt": 46.00,
        "acct_pay": 100.00,
        "fixmedins_setl_cnt": 1,
        "refd_setl_flag": "0",
    }
    balanced = ok(national(his, "3201", {"data": statement}))["stmtinfo"]
    assert conforms(balanced, STMTINFO_3201) == []
    assert balanced["stmt_rslt"] == "0", balanced["stmt_rslt_dscr"]
    off = ok(national(his, "3201", {"data": {**statement, "medfee_sumamt": 250.00}}))["stmtinfo"]
    assert off["stmt_rslt"] == "1"
    assert "medfee_sumamt: HIS 250.00, Shuxin 240.00" in off["stmt_rslt_dscr"]


def test_the_national_fields_shuxin_does_not_use_are_kept_with_the_visit_and_its_lines(
    service, his
):
    from settlement.billing.national_tables import national_details

    patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    message = visit_2201(patient.psn_no)
    message["data"]["mdtrt_cert_no"] = patient.certno  # an identity number: never kept
    mdtrt_id = ok(national(his, "2201", message))["data"]["mdtrt_id"]
    batch = [line_2204(mdtrt_id, patient.psn_no, "CB01", "F0001", CONSULTATION, "30.00")]
    ok(national(his, "2204", {"feedetail": batch}))
    ok(national(his, "2204", {"feedetail": batch}))  # a retry keeps nothing twice
    with service.container.uow() as uow:
        kept = national_details(uow.session, mdtrt_id)
    assert kept[""] == {
        "insutype": "310",
        "mdtrt_cert_type": "02",
        "atddr_no": "D0001",
        "caty": "A03",
    }
    line = kept["F0001"]
    assert line["medins_list_codg"] == f"H-{CONSULTATION}"
    assert (line["hosp_appr_flag"], line["dise_codg"], line["rxno"]) == ("1", "I10", "RX0001")
    assert (line["bilg_dept_codg"], line["bilg_dr_codg"]) == ("A03.01", "D0001")
    assert "acord_dept_codg" not in line  # sent empty


def test_national_calls_are_counted_by_infno_and_outcome_and_a_2204_as_a_charge_batch(service, his):
    from tests.integration.api.test_metrics import scrape
    from tests.metrics_scrape import value

    patient, _ = service.enrol()
    before = scrape(service)
    opened = national(his, "2201", visit_2201(patient.psn_no), msgid="M-COUNT-1")
    national(his, "2201", visit_2201(patient.psn_no), msgid="M-COUNT-1")  # replayed
    mdtrt_id = ok(opened)["data"]["mdtrt_id"]
    too_much = [line_2204(mdtrt_id, patient.psn_no, "CB01", "F1", ADVICE, "5000.00")]
    national(his, "2204", {"feedetail": too_much})
    national(his, "9999", {"data": {}})
    after = scrape(service)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    calls = "shuxin_national_calls_total"
    assert moved(calls, infno="2201", outcome="done", code="") == 1
    assert moved(calls, infno="2201", outcome="replayed", code="") == 1
    assert moved(calls, infno="2204", outcome="refused", code="insufficient_credit") == 1
    assert moved(calls, infno="other", outcome="refused", code="validation_error") == 1
    batches = "shuxin_fee_batches_total"
    assert moved(batches, outcome="refused", code="insufficient_credit") == 1
