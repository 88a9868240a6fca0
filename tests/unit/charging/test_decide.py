"""The charge decision (settlement.usecases.charging.decide) in the unit ring: plain values in,
a plan or a refusal out, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from credit.decision import Decision
from insurance.catalogue import Catalogue, CatalogueItem
from insurance.money import to_fen
from insurance.policy import default_policy_folder, load_policies
from insurance.pricing import line_amount
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import PersonRecord
from settlement.usecases.charging.decide import (
    BatchFacts,
    ChargedVisit,
    ChargeFacts,
    ChargeRules,
    FeeBatch,
    FeePlan,
    FeeRequest,
    decide_fee_batch,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CODE = "A-PLAIN"
CATALOGUE = Catalogue([CatalogueItem(CODE, "甲类项目", "A"), CatalogueItem("C-1", "丙类", "C")])
RULES = ChargeRules(
    now=NOW,
    max_ahead=timedelta(hours=24),
    policies=load_policies(default_policy_folder()),
    timezone="Asia/Shanghai",
    freeze_shared_on_overdue=True,
)
PERSON = PersonRecord(
    psn_no="37140000000000000001",
    psn_name="测试",
    certno="x",
    phone="y",
    insutype="310",
    psn_type="11",
    status="active",
    balc=Decimal("100.00"),
    insuplc_admdvs="371400",
)
ACTIVE = Decision("active", Decimal(800), 700, (), "v1", {}, date(2026, 11, 1))
VISIT = ChargeFacts(
    visit=ChargedVisit("MD1", PERSON.psn_no, "open", NOW - timedelta(hours=1)),
    hospital_code="H1",
    total_fen=1234,
    any_repeated=False,
    has_sharing_links=False,
    frozen_by_family=False,
)
FACTS = BatchFacts(visit=VISIT, person=PERSON, standing=ACTIVE, catalogue=CATALOGUE)


def fee(sn: str, pric: str = "10.00", cnt: str = "1", **changes: object) -> FeeRequest:
    request = FeeRequest(
        feedetl_sn=sn,
        med_list_codg=CODE,
        item_name="诊查费",
        pric=Decimal(pric),
        cnt=Decimal(cnt),
        det_item_fee_sumamt=line_amount(Decimal(pric), Decimal(cnt)),
        fee_ocur_time=NOW,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def batch(*fees: FeeRequest, hospital: str = "H1") -> FeeBatch:
    return FeeBatch(hospital, "MD1", "CB1", fees)


def refusal(outcome: FeePlan | ServiceError) -> str:
    assert isinstance(outcome, ServiceError), outcome
    return outcome.code


def test_a_plain_batch_is_planned_with_its_rows_and_answer():
    plan = decide_fee_batch(batch(fee("1"), fee("2", "3.33", "3")), FACTS, RULES)
    assert isinstance(plan, FeePlan)
    assert [row["feedetl_sn"] for row in plan.rows] == ["1", "2"]
    assert [row["det_item_fee_sumamt_fen"] for row in plan.rows] == [1000, 999]
    assert plan.rows[0]["hold_transfer_id"] == "hold:MD1:1"
    assert all(row["status"] == "held" and row["posted_at"] == NOW for row in plan.rows)
    answer = plan.answer(available=Decimal("5.00"))
    assert answer.medfee_sumamt == Decimal("32.33")  # 12.34 already in the visit
    assert answer.available == Decimal("5.00")


def test_refusals_come_in_the_order_the_his_sees_them():
    late = fee("1", fee_ocur_time=NOW + timedelta(days=3))
    closed = replace(FACTS, visit=replace(VISIT, visit=replace(VISIT.visit, status="closed")))
    # A time no policy covers comes before a missing visit.
    assert refusal(decide_fee_batch(batch(late), BatchFacts(visit=None), RULES)) == (
        "validation_error"
    )
    assert refusal(decide_fee_batch(batch(fee("1")), BatchFacts(visit=None), RULES)) == (
        "not_found"
    )
    assert refusal(decide_fee_batch(batch(fee("1"), hospital="H2"), FACTS, RULES)) == "not_found"
    assert refusal(decide_fee_batch(batch(fee("1")), closed, RULES)) == "visit_closed"
    assert refusal(decide_fee_batch(batch(), FACTS, RULES)) == "validation_error"
    repeated = replace(FACTS, existing=frozenset({"1"}))
    assert refusal(decide_fee_batch(batch(fee("1")), repeated, RULES)) == "duplicate_fee"
    assert refusal(decide_fee_batch(batch(fee("1"), fee("1")), FACTS, RULES)) == "duplicate_fee"
    wrong = fee("1", det_item_fee_sumamt=Decimal("9.99"))
    assert refusal(decide_fee_batch(batch(wrong), FACTS, RULES)) == "amount_mismatch"
    unknown = replace(FACTS, person=None, standing=None)
    assert refusal(decide_fee_batch(batch(fee("1")), unknown, RULES)) == "patient_not_found"


def test_the_patients_standing_and_insurance_refuse_a_batch():
    resident = replace(FACTS, person=replace(PERSON, insutype="390"))
    assert refusal(decide_fee_batch(batch(fee("1")), resident, RULES)) == "not_eligible"
    for status, code in [
        ("not_signed", "not_signed"),
        ("frozen", "credit_frozen"),
        ("suspended", "suspended"),
        ("not_eligible", "not_eligible"),
    ]:
        facts = replace(FACTS, standing=replace(ACTIVE, status=status))
        assert refusal(decide_fee_batch(batch(fee("1")), facts, RULES)) == code


def test_a_relatives_overdue_bill_freezes_the_line_only_where_the_policy_says_so():
    facts = replace(FACTS, overdue_shared_bills=("BL1",))
    outcome = decide_fee_batch(batch(fee("1")), facts, RULES)
    assert refusal(outcome) == "credit_frozen"
    assert isinstance(outcome, ServiceError)
    assert outcome.details["overdue_shared_bills"] == ["BL1"]
    lenient = replace(RULES, freeze_shared_on_overdue=False)
    assert isinstance(decide_fee_batch(batch(fee("1")), facts, lenient), FeePlan)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
counts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99"), places=4)


@given(st.lists(st.tuples(amounts, counts), min_size=1, max_size=20), st.integers(0, 10**9))
def test_a_plan_holds_exactly_what_the_hospital_charged_to_the_fen(lines, before_fen):
    fees = [fee(str(index), str(pric), str(cnt)) for index, (pric, cnt) in enumerate(lines)]
    facts = replace(FACTS, visit=replace(VISIT, total_fen=before_fen))
    plan = decide_fee_batch(batch(*fees), facts, RULES)
    assert isinstance(plan, FeePlan)
    charged = sum(to_fen(request.det_item_fee_sumamt) for request in fees)
    assert sum(row["det_item_fee_sumamt_fen"] for row in plan.rows) == charged
    assert sum(to_fen(line.det_item_fee_sumamt) for line in plan.priced) == charged
    for row in plan.rows:  # the insurance parts never exceed the line
        parts = row["fulamt_ownpay_amt_fen"] + row["overlmt_amt_fen"] + row["preselfpay_amt_fen"]
        assert 0 <= parts <= row["det_item_fee_sumamt_fen"]
        assert row["inscp_scp_amt_fen"] <= row["det_item_fee_sumamt_fen"]
    answer = plan.answer(available=Decimal(0))
    assert to_fen(answer.medfee_sumamt) == before_fen + charged


@given(st.permutations(range(6)))
def test_the_plan_does_not_depend_on_the_order_of_the_lines(order):
    fees = [fee(str(index), f"{index + 1}.37", str(index + 1)) for index in range(6)]
    plans = [
        decide_fee_batch(batch(*[fees[i] for i in o]), FACTS, RULES) for o in (range(6), order)
    ]
    assert all(isinstance(plan, FeePlan) for plan in plans)
    by_sn = [
        {row["feedetl_sn"]: row for row in plan.rows} for plan in plans if isinstance(plan, FeePlan)
    ]
    assert by_sn[0] == by_sn[1]
