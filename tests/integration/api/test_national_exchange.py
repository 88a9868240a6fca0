"""A whole exchange in the national shape, checked both ways against the public field lists
(issue 20, "Tests that must exist"): every request carries every field of its national input
list with the national types (so it is what an HIS's client sends), and every answer every field
of its output list. 2201, 2204, 2205, 2206, 2207, 5203, 2208 and 3201, in both settlement modes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import national as fields
from tests.fixtures.national import conforms
from tests.integration.api.test_national_calls import (
    ADVICE,
    CONSULTATION,
    ULTRASOUND,
    line_2204,
    national,
    ok,
    settle_data,
    visit_2201,
)
from tests.integration.payments.support import use_mode


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def call(his, infno: str, part: str, request: Any, input_fields: dict[str, str]) -> dict[str, Any]:
    """Send ``request`` after checking its ``part`` (``data``, or each line of ``feedetail``)
    against the national input list; the answer's ``output``."""
    parts = request[part] if isinstance(request[part], list) else [request[part]]
    assert [conforms(value, input_fields) for value in parts] == [[]] * len(parts), infno
    return ok(national(his, infno, request))


@pytest.mark.parametrize("mode", ["repayment", "visit_end"])
def test_every_request_and_answer_carries_its_national_fields(service, his, mode):
    use_mode(service, mode)
    patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    psn_no = patient.psn_no

    opened = call(his, "2201", "data", visit_2201(psn_no), fields.INPUT_2201)
    assert conforms(opened["data"], fields.OUTPUT_2201) == []
    mdtrt_id = opened["data"]["mdtrt_id"]
    batch = {
        "feedetail": [
            line_2204(mdtrt_id, psn_no, "CB01", "F0001", CONSULTATION, "30.00"),
            line_2204(mdtrt_id, psn_no, "CB01", "F0002", ULTRASOUND, "180.00"),
            line_2204(mdtrt_id, psn_no, "CB01", "F0003", ADVICE, "30.00"),
        ]
    }
    posted = call(his, "2204", "feedetail", batch, fields.INPUT_2204_LINE)
    assert [conforms(line, fields.OUTPUT_2204_LINE) for line in posted["result"]] == [[]] * 3
    second = {"feedetail": [line_2204(mdtrt_id, psn_no, "CB02", "F0004", ADVICE, "20.00")]}
    call(his, "2204", "feedetail", second, fields.INPUT_2204_LINE)
    cancel = {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "CB02", "psn_no": psn_no}}
    call(his, "2205", "data", cancel, fields.INPUT_2205)
    for infno in ("2206", "2207"):
        answer = call(his, infno, "data", settle_data(psn_no, mdtrt_id, 240.00), fields.INPUT_2207)
        assert conforms(answer["setlinfo"], fields.SETLINFO_2207) == [], infno
        assert [conforms(fund, fields.SETLDETAIL) for fund in answer["setldetail"]] == [[], []]
    setl_id = answer["setlinfo"]["setl_id"]
    read = call(
        his,
        "5203",
        "data",
        {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}},
        fields.INPUT_5203,
    )
    assert conforms(read["setlinfo"], fields.SETLINFO_2207) == []
    statement = {
        "data": {
            "insutype": "310",
            "clr_type": "11",
            "setl_optins": "371400",
            "stmt_begndate": "2026-11-23",
            "stmt_enddate": "2026-11-23",
            "medfee_sumamt": answer["setlinfo"]["medfee_sumamt"],
            "fund_pay_sumamt": answer["setlinfo"]["fund_pay_sumamt"],
            "acct_pay": answer["setlinfo"]["acct_pay"],
            "fixmedins_setl_cnt": 1,
            "refd_setl_flag": "0",
        }
    }
    reconciled = call(his, "3201", "data", statement, fields.INPUT_3201)
    assert conforms(reconciled["stmtinfo"], fields.STMTINFO_3201) == []
    assert reconciled["stmtinfo"]["stmt_rslt"] == "0", reconciled["stmtinfo"]["stmt_rslt_dscr"]
    reverse = {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}}
    reversed_ = call(his, "2208", "data", reverse, fields.INPUT_2208)
    assert conforms(reversed_["setlinfo"], fields.SETLINFO_2208) == []
    assert [conforms(fund, fields.SETLDETAIL) for fund in reversed_["setldetail"]] == [[], []]
