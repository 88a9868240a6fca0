"""The national endpoint in both settlement modes: 2207 says whether the fund's share settled and
what the patient's credit carries (channel 14, 信用就医); 5203 and 2208 report the same money."""

from __future__ import annotations

import pytest

from tests.fixtures.national import SETLDETAIL, SETLINFO_2207, SETLINFO_2208, conforms
from tests.integration.api.test_national_calls import national, ok, whole_visit
from tests.integration.payments.support import login, pay, snapshot, use_mode


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


@pytest.mark.parametrize("mode", ["repayment", "visit_end"])
def test_2207_reports_the_fund_settled_at_close_only_in_visit_end(service, his, mode):
    use_mode(service, mode)
    patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    start = snapshot(service, patient.psn_no)

    answers = whole_visit(his, patient.psn_no)

    settled = answers["2207"]
    assert conforms(settled["setlinfo"], SETLINFO_2207) == []
    assert [conforms(fund, SETLDETAIL) for fund in settled["setldetail"]] == [[], []]
    info = settled["setlinfo"]
    # 240.00: 46.00 from the pooled fund, 194.00 the patient's part (100.00 account estimated)
    assert (info["hifp_pay"], info["psn_part_amt"], info["acct_pay"]) == (46, 194, 100)
    bill = settled["bill"]
    assert bill["settlement_mode"] == mode
    assert bill["credit_pay_chnl"] == "14"
    closed = snapshot(service, patient.psn_no)
    if mode == "visit_end":
        assert (bill["fund_settled_at_close"], bill["fund_settled_amt"], bill["credit_amt"]) == (
            True,
            46,
            194,
        )
        assert closed.pool_posted == start.pool_posted - 46
        assert closed.outstanding == 194
    else:
        assert (bill["fund_settled_at_close"], bill["fund_settled_amt"], bill["credit_amt"]) == (
            False,
            0,
            240,
        )
        assert closed.pool_posted == start.pool_posted
        assert closed.outstanding == 240

    setl_id = info["setl_id"]
    read = ok(national(his, "5203", {"data": {"psn_no": patient.psn_no, "setl_id": setl_id}}))
    assert read["bill"]["settled"] is False
    assert read["bill"]["fund_settled_at_close"] is (mode == "visit_end")
    assert read["setlinfo"]["hifp_pay"] == 46

    service.advance(hours=2)
    assert pay(service, login(service, patient), setl_id).status_code == 201
    paid = ok(national(his, "5203", {"data": {"psn_no": patient.psn_no, "setl_id": setl_id}}))
    assert paid["bill"]["settled"] is True
    assert (paid["setlinfo"]["hifp_pay"], paid["setlinfo"]["acct_pay"]) == (46, 100)
    assert paid["setlinfo"]["psn_cash_pay"] == 94
    assert snapshot(service, patient.psn_no).pool_posted == start.pool_posted - 46


def test_2208_before_repayment_in_visit_end_gives_the_fund_back_its_share(service, his):
    use_mode(service, "visit_end")
    patient, line = service.enrol(balc="100.00", ytd_dedc="100.00")
    start = snapshot(service, patient.psn_no)
    answers = whole_visit(his, patient.psn_no)
    setl_id = answers["2207"]["setlinfo"]["setl_id"]
    reverse = {
        "data": {"setl_id": setl_id, "mdtrt_id": answers["mdtrt_id"], "psn_no": patient.psn_no}
    }

    reversed_ = ok(national(his, "2208", reverse))

    assert conforms(reversed_["setlinfo"], SETLINFO_2208) == []
    assert (reversed_["setlinfo"]["hifp_pay"], reversed_["setlinfo"]["medfee_sumamt"]) == (
        -46,
        -240,
    )
    end = snapshot(service, patient.psn_no)
    assert end.pool_posted == start.pool_posted
    assert (end.deductible_used, end.hifp_paid) == (start.deductible_used, start.hifp_paid)
    assert (end.outstanding, end.available) == (0, line)
