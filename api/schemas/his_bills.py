"""The HIS's view of a bill's final split (``GET /his/v1/bills/{bill_id}``, national 5203)."""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas.his import (
    CREDIT_AMT_DESCRIPTION,
    EXAMPLE_BILL_ID,
    EXAMPLE_MDTRT_ID,
    FUND_SETTLED_DESCRIPTION,
    SETTLEMENT_MODE_DESCRIPTION,
    SettlementMode,
)
from api.schemas.patients import BillStatus
from api.schemas.setlinfo import (
    HIS_SETLINFO_EXAMPLE,
    SETLDETAIL_EXAMPLE,
    HisSetlInfoPublic,
    SetlDetailPublic,
)
from api.schemas.types import MoneyText, ResponseModel

EXAMPLE_SETL_ID = "ST20261124A1B2C3D4E5F6"
BILL_SPLIT_EXAMPLE: JsonDict = {
    "bill_id": EXAMPLE_BILL_ID,
    "mdtrt_id": EXAMPLE_MDTRT_ID,
    "status": "settled",
    "medfee_sumamt": "240.00",
    "closed_at": "2026-11-23T11:00:00+08:00",
    "due_at": "2026-11-26T11:00:00+08:00",
    "settled_at": "2026-11-24T08:10:00+08:00",
    "settled": True,
    "settlement_mode": "repayment",
    "fund_settled_amt": "0.00",
    "credit_amt": "240.00",
    "setlinfo": {
        **HIS_SETLINFO_EXAMPLE,
        "setl_id": EXAMPLE_SETL_ID,
        "setl_time": "2026-11-24T08:10:00+08:00",
    },
    "setldetail": SETLDETAIL_EXAMPLE,
}


class BillSplitPublic(ResponseModel):
    """A bill and its split: the settlement that stands once the patient paid, the estimate
    before (and after every line was refunded)."""

    model_config = ConfigDict(json_schema_extra={"examples": [BILL_SPLIT_EXAMPLE]})

    bill_id: str
    mdtrt_id: str
    status: BillStatus
    medfee_sumamt: MoneyText = Field(description="what the bill comes to now (after refunds)")
    closed_at: str
    due_at: str
    settled_at: str | None
    settled: bool = Field(
        description="true: `setlinfo` is the settlement that stands (with its `setl_id` and "
        "`setl_time`); false: it is the estimate, the bill not settled yet"
    )
    settlement_mode: SettlementMode = Field(description=SETTLEMENT_MODE_DESCRIPTION)
    fund_settled_amt: MoneyText = Field(description=FUND_SETTLED_DESCRIPTION)
    credit_amt: MoneyText = Field(description=CREDIT_AMT_DESCRIPTION)
    setlinfo: HisSetlInfoPublic
    setldetail: list[SetlDetailPublic]
