"""A posted batch's answer is rendered by pydantic's serialiser, byte for byte as render_json.

The grouped path stores and sends ``render_fee_batch``'s text; the single path and every other
idempotent write render with :func:`api.idempotency.render_json`. A retry replays the stored
text, so both must give the same bytes for any answer: any text in any field (non-ASCII, quotes,
backslashes, control characters), any amount, ``null`` or not.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.idempotency import render_json
from api.schemas.his import FeeBatchPublic, FeePublic

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
money = st.from_regex(r"^-?\d{1,9}\.\d{2}$", fullmatch=True)


@st.composite
def fee_lines(draw: st.DrawFn) -> FeePublic:
    return FeePublic(
        feedetl_sn=draw(texts),
        chrg_bchno=draw(texts),
        med_list_codg=draw(texts),
        item_name=draw(texts),
        pric=draw(texts),
        cnt=draw(texts),
        det_item_fee_sumamt=draw(money),
        chrgitm_lv=draw(st.sampled_from(["A", "B", "C"])),
        selfpay_prop=draw(texts),
        fulamt_ownpay_amt=draw(money),
        overlmt_amt=draw(money),
        preselfpay_amt=draw(money),
        inscp_scp_amt=draw(money),
        unlisted=draw(st.booleans()),
        pric_uplmt_amt=draw(st.none() | texts),
        med_chrgitm_type=draw(texts),
        lmt_used_flag=draw(texts),
        bas_medn_flag=draw(texts),
        hi_nego_drug_flag=draw(texts),
        chld_medc_flag=draw(texts),
        list_sp_item_flag=draw(texts),
        drt_reim_flag=draw(texts),
        memo=draw(texts),
        fee_ocur_time=draw(texts),
        status=draw(st.sampled_from(["held", "cancelled", "billed", "refunded"])),
    )


@given(
    mdtrt_id=texts,
    chrg_bchno=texts,
    fees=st.lists(fee_lines(), max_size=4),
    medfee_sumamt=money,
    available=money,
)
def test_pydantic_renders_a_fee_batch_answer_as_render_json_does(
    mdtrt_id, chrg_bchno, fees, medfee_sumamt, available
):
    answer = FeeBatchPublic(
        mdtrt_id=mdtrt_id,
        chrg_bchno=chrg_bchno,
        fees=fees,
        medfee_sumamt=medfee_sumamt,
        available=available,
    )
    assert answer.model_dump_json().encode() == render_json(answer.model_dump(mode="json"))
