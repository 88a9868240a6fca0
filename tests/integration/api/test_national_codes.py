"""The national answers use the platform's codes where it has its own (issue 20 item 1): the
person type (psn_type, 人员类别) in 4 digits, 1101 employee in service and 1201 retired; the REST
API keeps Shuxin's 11 and 12."""

from __future__ import annotations

import pytest

from tests.integration.api.test_national_calls import national, ok, whole_visit


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


@pytest.mark.parametrize(("psn_type", "national_code"), [("11", "1101"), ("12", "1201")])
def test_2206_2207_and_5203_answer_the_4_digit_person_type(service, his, psn_type, national_code):
    patient, _ = service.enrol(balc="100.00", ytd_dedc="100.00", psn_type=psn_type)

    answers = whole_visit(his, patient.psn_no)

    assert answers["2206"]["setlinfo"]["psn_type"] == national_code
    setlinfo = answers["2207"]["setlinfo"]
    assert setlinfo["psn_type"] == national_code
    read = ok(
        national(his, "5203", {"data": {"psn_no": patient.psn_no, "setl_id": setlinfo["setl_id"]}})
    )
    assert read["setlinfo"]["psn_type"] == national_code
    rest = his.get(f"/his/v1/bills/{setlinfo['setl_id']}").json()
    assert rest["setlinfo"]["psn_type"] == psn_type
