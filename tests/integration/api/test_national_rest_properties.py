"""Any batch through the national endpoint and through the REST API makes the same fee rows, the
same ledger transfers and the same split, to the fen (Hypothesis over random lines)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from insurance.pricing import line_amount
from insurance.split import SETLINFO_FIELDS
from tests.integration.api.test_national_calls import (
    ledger,
    line_2204,
    national,
    ok,
    rows,
    settle_data,
    visit_2201,
)

CODES = (
    "001101000010000",  # A, capped at 1.00
    "001102000030000",  # A, capped at 30.00
    "001102000040000",  # B 20 %, capped at 50.00
    "002203020010000",  # B 10 %, capped at 180.00
    "001110000030000",  # C
    "XJ01CAA0460201011000000",  # A, no cap
    "002504030240000",  # B 20 %, capped at 120.00, restricted use: hosp_appr_flag 2 self-pays it
    "NOT-IN-THE-CATALOGUE",  # unlisted: C
)
_visits = itertools.count(1)

lines = st.lists(
    st.tuples(
        st.sampled_from(CODES),
        st.integers(1, 20_000).map(lambda cents: Decimal(cents).scaleb(-2)),
        st.integers(1, 40).map(lambda tenths: Decimal(tenths).scaleb(-1)),
        st.sampled_from([None, "0", "1", "2"]),  # hosp_appr_flag (None: not sent)
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(batch=[("001101000010000", Decimal("2.00"), Decimal("1.5"), None)], balc="0.00")
@example(batch=[("002504030240000", Decimal("150.00"), Decimal("1"), "2")], balc="35.50")
@given(batch=lines, balc=st.sampled_from(["0.00", "35.50", "100.00"]))
def test_any_batch_costs_the_same_through_either_door(service, batch, balc):
    his = service.hospitals["H3"]
    national_patient, _ = service.enrol(balc=balc)
    rest_patient, _ = service.enrol(balc=balc)
    serial = next(_visits)
    total = sum((line_amount(pric, cnt) for _, pric, cnt, _ in batch), Decimal(0))

    opened = ok(national(his, "2201", visit_2201(national_patient.psn_no, f"MZN{serial}")))
    national_id = opened["data"]["mdtrt_id"]
    feedetail = [
        line_2204(national_id, national_patient.psn_no, "CB", f"F{i}", codg, str(pric), str(cnt))
        | {"hosp_appr_flag": flag or ""}
        for i, (codg, pric, cnt, flag) in enumerate(batch)
    ]
    for line in feedetail:  # exact decimals, as an HIS writes them
        line["det_item_fee_sumamt"] = (
            f"{line_amount(Decimal(str(line['pric'])), Decimal(str(line['cnt']))):.2f}"
        )
    posted = national(his, "2204", {"feedetail": feedetail})

    rest_id = his.open_visit(rest_patient.psn_no, ipt_otp_no=f"MZR{serial}").json()["mdtrt_id"]
    fees = [
        {
            "feedetl_sn": f"F{i}",
            "med_list_codg": codg,
            "item_name": "x",
            "pric": str(pric),
            "cnt": str(cnt),
            "det_item_fee_sumamt": f"{line_amount(pric, cnt):.2f}",
            "fee_ocur_time": "2026-11-23T09:45:00+08:00",
        }
        | ({} if flag is None else {"hosp_appr_flag": flag})
        for i, (codg, pric, cnt, flag) in enumerate(batch)
    ]
    charged = his.post(f"/his/v1/visits/{rest_id}/fees", {"chrg_bchno": "CB", "fees": fees})
    # Both doors refuse alike (a batch beyond the line) or post alike.
    assert (posted["infcode"] == 0) == (charged.status_code == 201), (posted, charged.text)
    if posted["infcode"] != 0:
        assert posted["err_msg"].split(":")[0] == charged.json()["error"]["code"]
        return
    settled = ok(
        national(his, "2207", settle_data(national_patient.psn_no, national_id, str(total)))
    )
    closed = his.post(f"/his/v1/visits/{rest_id}/close").json()

    assert rows(service, national_id) == rows(service, rest_id)
    assert ledger(service, national_id) == ledger(service, rest_id)
    for name in SETLINFO_FIELDS:  # the contract's figures, money and the ratio
        assert Decimal(str(settled["setlinfo"][name])) == Decimal(closed["estimate"][name]), name
