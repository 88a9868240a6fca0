"""National 3201 (对总账) in both settlement modes: every total the HIS submits that Shuxin models
is compared with Shuxin's 2207 answers for the bills closed in the period (issue 20 item 1), and
any difference, the fund's included, is 不平 with the figure, both values and the gap named."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.national import STMTINFO_3201, conforms
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
from tests.integration.payments.support import login, pay, use_mode

D = Decimal
MODES = ("repayment", "visit_end")
TODAY = "2026-11-23"
#: The submitted totals Shuxin compares, as the national 3201 names them.
COMPARED = ("fixmedins_setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay")
_visit = itertools.count(1)


@pytest.fixture
def his(service):
    return service.hospitals["H3"]


def settled_visit(his, psn_no: str, lines: list[tuple[str, str]]) -> dict[str, Any]:
    """2201, one 2204 batch of ``lines`` (code, price), 2207: the 2207 answer."""
    number = next(_visit)
    opened = ok(national(his, "2201", visit_2201(psn_no, f"MZ-3201-{number}")))
    mdtrt_id = opened["data"]["mdtrt_id"]
    batch = [
        line_2204(mdtrt_id, psn_no, f"CB{number}", f"F{number}-{index}", code, price)
        for index, (code, price) in enumerate(lines)
    ]
    ok(national(his, "2204", {"feedetail": batch}))
    total = float(sum((D(price) for _, price in lines), D(0)))
    answer = ok(national(his, "2207", settle_data(psn_no, mdtrt_id, total)))
    answer["feedetl_sn"] = [line["feedetl_sn"] for line in batch]
    return answer


def his_totals(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """What the HIS adds up from the 2207 answers it recorded."""
    total = {name: D(0) for name in COMPARED[1:]}
    for answer in answers:
        for name in total:
            total[name] += D(str(answer["setlinfo"][name]))
    return {"fixmedins_setl_cnt": len(answers), **{k: float(v) for k, v in total.items()}}


def statement(totals: dict[str, Any], **changed: Any) -> dict[str, Any]:
    return {
        "data": {
            "insutype": "310",
            "clr_type": "11",
            "setl_optins": "371400",
            "stmt_begndate": TODAY,
            "stmt_enddate": TODAY,
            "refd_setl_flag": "0",
            **totals,
            **changed,
        }
    }


def verdict(his, totals: dict[str, Any], **changed: Any) -> dict[str, Any]:
    stmtinfo = ok(national(his, "3201", statement(totals, **changed)))["stmtinfo"]
    assert conforms(stmtinfo, STMTINFO_3201) == []
    return stmtinfo


def one_more(name: str, value: Any) -> Any:
    """The submitted ``value`` of ``name`` one unit higher: a settlement, or a fen."""
    return value + 1 if name == "fixmedins_setl_cnt" else float(D(str(value)) + D("0.01"))


def two_visits(service, his, mode: str) -> list[dict[str, Any]]:
    """Two bills, 2207 answering fund 46.00, account 100.00 for the first (its split is the one
    ``test_national_calls`` records), and a fund share and account payment for the second."""
    use_mode(service, mode)
    first, _ = service.enrol(balc="100.00", ytd_dedc="100.00")
    second, _ = service.enrol(balc="20.00", ytd_dedc="200.00")
    answers = [
        settled_visit(
            his,
            first.psn_no,
            [(CONSULTATION, "30.00"), (ULTRASOUND, "180.00"), (ADVICE, "30.00")],
        ),
        settled_visit(his, second.psn_no, [(CONSULTATION, "25.00"), (ADVICE, "70.00")]),
    ]
    for answer, patient in zip(answers, (first, second), strict=True):
        answer["patient"] = patient
    return answers


@pytest.mark.parametrize("mode", MODES)
def test_totals_equal_to_the_2207_answers_balance_and_the_description_names_them(
    service, his, mode
):
    answers = two_visits(service, his, mode)
    totals = his_totals(answers)
    assert answers[0]["setlinfo"]["fund_pay_sumamt"] == 46
    assert answers[0]["setlinfo"]["acct_pay"] == 100

    stmtinfo = verdict(his, totals)

    assert stmtinfo["stmt_rslt"] == "0", stmtinfo["stmt_rslt_dscr"]
    assert stmtinfo["setl_optins"] == "371400"
    fund = f"{D(str(totals['fund_pay_sumamt'])):.2f}"
    assert f"fund_pay_sumamt {fund}" in stmtinfo["stmt_rslt_dscr"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", COMPARED)
def test_a_difference_in_any_compared_total_is_unbalanced_and_says_which_and_by_how_much(
    service, his, mode, name
):
    totals = his_totals(two_visits(service, his, mode))
    ours = totals[name]

    stmtinfo = verdict(his, totals, **{name: one_more(name, ours)})

    assert stmtinfo["stmt_rslt"] == "1"
    if name == "fixmedins_setl_cnt":
        expected = f"fixmedins_setl_cnt: HIS {ours + 1}, Shuxin {ours} (HIS 1 more)"
    else:
        value = D(str(ours))
        expected = f"{name}: HIS {value + D('0.01'):.2f}, Shuxin {value:.2f} (HIS 0.01 more)"
    assert stmtinfo["stmt_rslt_dscr"] == f"unbalanced: {expected}"


@pytest.mark.parametrize("mode", MODES)
def test_the_fund_submitted_short_is_named_as_less(service, his, mode):
    totals = his_totals(two_visits(service, his, mode))
    short = float(D(str(totals["fund_pay_sumamt"])) - D("10.00"))

    stmtinfo = verdict(his, totals, fund_pay_sumamt=short)

    assert stmtinfo["stmt_rslt"] == "1"
    assert "fund_pay_sumamt: HIS" in stmtinfo["stmt_rslt_dscr"]
    assert stmtinfo["stmt_rslt_dscr"].endswith("(HIS 10.00 less)")


@pytest.mark.parametrize("mode", MODES)
def test_a_refund_and_a_repayment_later_leave_what_the_2207_answered(service, his, mode):
    answers = two_visits(service, his, mode)
    totals = his_totals(answers)
    first, second = answers
    refunded = his.post(
        f"/his/v1/bills/{first['setlinfo']['setl_id']}/refunds",
        {"feedetl_sn": [first["feedetl_sn"][1]], "reason": "退药"},
    )
    assert refunded.status_code == 200, refunded.text
    bill_id = second["setlinfo"]["setl_id"]
    if second["bill"]["status"] == "billed":
        assert pay(service, login(service, second["patient"]), bill_id).status_code == 201

    balanced = verdict(his, totals)
    assert balanced["stmt_rslt"] == "0", balanced["stmt_rslt_dscr"]


# -- any visits, either mode ---------------------------------------------------------------------

price = st.integers(min_value=1, max_value=30_000).map(lambda fen: f"{D(fen) / 100:.2f}")
visit_lines = st.lists(
    st.tuples(st.sampled_from([CONSULTATION, ULTRASOUND, ADVICE]), price), min_size=1, max_size=3
)
patients = st.tuples(
    st.sampled_from(["0.00", "50.00", "400.00"]),  # the personal account's balance
    st.sampled_from(["0.00", "100.00", "200.00"]),  # the deductible used this year
    visit_lines,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mode=st.sampled_from(MODES),
    visits=st.lists(patients, min_size=1, max_size=3),
    changed=st.sampled_from(COMPARED),
    down=st.booleans(),
)
def test_shuxins_own_figures_balance_and_any_one_unit_off_does_not(
    service, mode, visits, changed, down
):
    use_mode(service, mode)
    his = service.add_hospital(f"HP{next(_visit)}", level=3)  # examples share the database
    answers = []
    for balc, ytd_dedc, lines in visits:
        patient, _ = service.enrol(balc=balc, ytd_dedc=ytd_dedc)
        answers.append(settled_visit(his, patient.psn_no, lines))
    totals = his_totals(answers)

    balanced = verdict(his, totals)
    assert balanced["stmt_rslt"] == "0", balanced["stmt_rslt_dscr"]

    ours = totals[changed]
    off = one_more(changed, ours)
    if down and ours > 0:
        off = ours - 1 if changed == "fixmedins_setl_cnt" else float(D(str(ours)) - D("0.01"))
    stmtinfo = verdict(his, totals, **{changed: off})
    assert stmtinfo["stmt_rslt"] == "1"
    assert stmtinfo["stmt_rslt_dscr"].startswith(f"unbalanced: {changed}: HIS ")
