"""Sandbox: run the scheduler now and read the messages it sent (``/sandbox/v1``).

Mounted only in sandbox mode, like the rest of the sandbox tree.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import ContainerDep, UowDep
from api.exact_json import ExactJsonRoute
from api.openapi import example_response
from api.presenters import iso
from settlement.messages.tables import SandboxMessage
from settlement.scheduler import run_due

router = APIRouter(prefix="/sandbox/v1", tags=["sandbox"], route_class=ExactJsonRoute)

MESSAGES_LIMIT = 200


class SweepPublic(BaseModel):
    count: int = Field(description="How many bills (visits for auto_close) the sweep handled")
    ids: list[str] = Field(description="Their bill ids (mdtrt_id for auto_close)")
    detail: dict[str, Any] = Field(default_factory=dict, description="Counts by outcome")


class SchedulerRunPublic(BaseModel):
    now: str = Field(description="The sandbox clock's time the sweeps ran for")
    sweeps: dict[str, SweepPublic]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "now": "2026-11-26T09:30:00+08:00",
                    "sweeps": {
                        "overdue": {"count": 1, "ids": ["BL20261123A1B2C3D4E5F6"], "detail": {}},
                        "messages": {"count": 0, "ids": [], "detail": {"sent": 2}},
                    },
                }
            ]
        }
    }


class MessagePublic(BaseModel):
    id: int
    channel: str = Field(description="sms | push")
    psn_no: str
    address: str = Field(description="The masked phone (SMS) or the app address (push)")
    kind: str = Field(description="remind_close, remind_24h, remind_2h, overdue, escalate, …")
    body: str
    link: str | None
    sent_at: str


@router.post(
    "/scheduler/run",
    response_model=SchedulerRunPublic,
    summary="Run everything the scheduler has due now",
)
def run_scheduler(container: ContainerDep) -> SchedulerRunPublic:
    """Run every sweep due at the sandbox clock's now, delayed wallet callbacks included."""
    report = run_due(container, include_delayed=True)
    sweeps = {}
    for name, sweep in report.sweeps.items():
        detail: dict[str, Any] = dict(sweep.counts)
        if sweep.error:
            detail["error"] = sweep.error
        sweeps[name] = SweepPublic(count=sweep.count, ids=sweep.ids, detail=detail)
    return SchedulerRunPublic(now=iso(report.now), sweeps=sweeps)


@router.get(
    "/messages",
    response_model=list[MessagePublic],
    summary="Messages the sandbox SMS gateway and app push received",
    responses={
        200: example_response(
            [
                {
                    "id": 2,
                    "channel": "sms",
                    "psn_no": "37140000000000000001",
                    "address": "139****0001",
                    "kind": "remind_close",
                    "body": "【舒心就医】您的就诊已结束，本次信用就医账单金额¥240.00，请于"
                    "2026年11月26日 11:00前还款，逾期将冻结信用就医额度。查看并支付："
                    "/app/bills/BL20261123A1B2C3D4E5F6",
                    "link": "/app/bills/BL20261123A1B2C3D4E5F6",
                    "sent_at": "2026-11-23T11:00:00+08:00",
                }
            ]
        )
    },
)
def list_messages(
    uow: UowDep,
    psn_no: Annotated[str | None, Query(max_length=40, description="Only this person's")] = None,
) -> list[MessagePublic]:
    """The newest messages first (at most 200), optionally for one person."""
    with uow:
        query = select(SandboxMessage).order_by(SandboxMessage.id.desc()).limit(MESSAGES_LIMIT)
        if psn_no is not None:
            query = query.where(SandboxMessage.psn_no == psn_no)
        return [
            MessagePublic(
                id=row.id,
                channel=row.channel,
                psn_no=row.psn_no,
                address=row.address,
                kind=row.kind,
                body=row.body,
                link=row.link,
                sent_at=iso(row.sent_at),
            )
            for row in uow.session.scalars(query)
        ]
