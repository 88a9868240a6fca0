"""``POST /his/v1/national``: the national platform's calls, chosen by ``infno``.

Signed like every HIS call (the transport's headers); the envelope's ``fixmedins_code`` must be
the signing hospital. Every business outcome is HTTP 200 with ``infcode`` 0 or -1 (national
clients branch on ``infcode`` and discard 4xx), ``err_msg`` then being ``<code>: <message>``
with the REST API's stable error code. A message is recorded under its ``msgid`` like an
``Idempotency-Key``: the same msgid and input again replay the first answer and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from api.auth import SignedHospitalDep
from api.deps import ContainerDep
from api.errors import ApiError, refusal_answer, validation_details
from api.exact_json import ExactJsonRoute
from api.idempotency import (
    REPLAY_HEADER,
    IdempotencyDep,
    IdempotentWrite,
    request_fingerprint,
)
from api.logs import audit
from api.metrics import count_fee_batch, count_national_call
from api.national import reconciling, settling, visits
from api.national.context import NationalCall
from api.national.schemas import (
    INFNOS,
    Input2201,
    Input2204,
    Input2205,
    Input2207,
    Input2208,
    Input3201,
    Input5203,
    NationalAnswer,
    NationalRequest,
)
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.credit.errors import CreditServiceError

router = APIRouter(prefix="/his/v1", tags=["HIS national"], route_class=ExactJsonRoute)

Translate = Callable[[UnitOfWork, NationalCall, Any], dict[str, Any]]
#: Each call: the model of its ``input`` and its translation onto the settlement services.
CALLS: dict[str, tuple[type[BaseModel], Translate]] = {
    "2201": (Input2201, visits.open_visit),
    "2204": (Input2204, visits.post_fees),
    "2205": (Input2205, visits.cancel_batch),
    "2206": (Input2207, settling.presettle),
    "2207": (Input2207, settling.settle),
    "2208": (Input2208, settling.reverse),
    "3201": (Input3201, reconciling.reconcile),
    "5203": (Input5203, settling.read),
}
assert set(CALLS) == set(INFNOS)

ANSWER_EXAMPLE = {
    "infcode": 0,
    "inf_refmsgid": "NA20261123A1B2C3D4E5F6",
    "refmsg_time": "2026-11-23 09:30:01",
    "respond_time": "2026-11-23 09:30:01",
    "err_msg": "",
    "warn_msg": "",
    "cainfo": "",
    "signtype": "",
    "output": {
        "data": {
            "mdtrt_id": "MD20261123A1B2C3D4E5F6",
            "psn_no": "37140000000000000001",
            "ipt_otp_no": "MZ20261123000123",
        }
    },
}
REFUSED_EXAMPLE = {
    **ANSWER_EXAMPLE,
    "infcode": -1,
    "err_msg": "insufficient_credit: the batch needs 812.30 but only 800.00 of credit is available",
    "output": {},
}


def _input_of(envelope: NationalRequest) -> BaseModel:
    """The envelope's ``input`` as its call's model; a refusal names the failing paths."""
    known = CALLS.get(envelope.infno)
    if known is None:
        raise ServiceError(
            "validation_error",
            f"infno {envelope.infno} is not a call Shuxin answers ({', '.join(INFNOS)})",
            fields=[{"path": "infno", "message": "not supported", "type": "value"}],
        )
    try:
        return known[0].model_validate(envelope.input)
    except ValidationError as error:
        fields = [
            {**field, "path": f"input.{field['path']}"}
            for field in validation_details(list(error.errors()))
        ]
        first = fields[0]
        raise ServiceError(
            "validation_error", f"{first['path']}: {first['message']}", fields=fields
        ) from None


def _perform(call: NationalCall, envelope: NationalRequest) -> tuple[int, Any, bool]:
    """Run the call once for its msgid; its status, body and whether it was replayed."""
    if envelope.fixmedins_code != call.hospital.code:
        raise ServiceError(
            "forbidden",
            f"fixmedins_code {envelope.fixmedins_code} is not the hospital that signed",
        )
    body = _input_of(envelope)
    translate = CALLS[envelope.infno][1]
    message = json.dumps(jsonable_encoder(envelope.input)).encode()
    write = IdempotentWrite(
        call.container,
        envelope.msgid,
        request_fingerprint("POST", f"/his/v1/national/{envelope.infno}", message),
    )
    response = write.run(
        scope=f"national:{call.hospital.code}",
        action=lambda uow: (200, translate(uow, call, body)),
    )
    return response.status_code, json.loads(bytes(response.body)), REPLAY_HEADER in response.headers


@router.post(
    "/national",
    response_model=NationalAnswer,
    summary="A national platform call (2201 2204 2205 2206 2207 2208 3201 5203)",
    responses={
        200: {
            "description": "Done (`infcode` 0) or refused (`infcode` -1, `err_msg` = "
            "`<code>: <message>`)",
            "content": {
                "application/json": {
                    "examples": {
                        "opened": {"summary": "2201 answered", "value": ANSWER_EXAMPLE},
                        "refused": {"summary": "2204 refused", "value": REFUSED_EXAMPLE},
                    }
                }
            },
        }
    },
)
def national_call(
    envelope: NationalRequest,
    signed: SignedHospitalDep,
    container: ContainerDep,
    _key: IdempotencyDep,
) -> JSONResponse:
    """The national request envelope in, the national answer out (docs/his-vendors.md).

    The contract's `Idempotency-Key` is required as on every HIS write (the transport sets it
    to the `msgid`); the message is recorded under its `msgid`, which decides a replay.
    """
    received = container.clock.now()
    call = NationalCall(container=container, hospital=signed.hospital(), msgid=envelope.msgid)
    try:
        status, body, replayed = _perform(call, envelope)
    except (ServiceError, ApiError, CreditServiceError) as refusal:
        status, body = refusal_answer(refusal)
        replayed = False
    _count(envelope.infno, status, body, replayed=replayed)
    return JSONResponse(
        _answer(call, received, status, body), headers={REPLAY_HEADER: "true"} if replayed else None
    )


def _count(infno: str, status: int, body: Any, *, replayed: bool) -> None:
    """The national call's metrics (a 2204 is a charge batch too) and its refusal's audit line
    (never the msgid: its digits would read as a phone or an ID number to the log's net)."""
    code = None if 200 <= status < 300 else str(body.get("error", {}).get("code", status))
    label = infno if infno in CALLS else "other"
    count_national_call(label, code, replayed=replayed)
    if infno == "2204":
        count_fee_batch(status, code, replayed=replayed)
    if code is not None and not replayed:
        audit.info("national call refused", infno=label, code=code)


def _answer(call: NationalCall, received: Any, status: int, body: Any) -> dict[str, Any]:
    done = 200 <= status < 300
    error = {} if done else body.get("error", {})
    return {
        "infcode": 0 if done else -1,
        "inf_refmsgid": new_id("NA", call.now()),
        "refmsg_time": call.national_time(received),
        "respond_time": call.national_time(call.now()),
        "err_msg": "" if done else f"{error.get('code', 'error')}: {error.get('message', '')}",
        "warn_msg": "",
        "cainfo": "",
        "signtype": "",
        "output": body if done else {},
    }
