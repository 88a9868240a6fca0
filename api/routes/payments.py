"""Paying a bill (``/v1``), the wallet providers' callbacks, and the sandbox wallet's behaviour."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse

from api.auth import PatientDep
from api.deps import ContainerDep, UowDep
from api.errors import ERROR_CODES, error_body
from api.exact_json import ExactJsonRoute
from api.idempotency import IdempotencyDep
from api.presenters import setlinfo_public
from api.schemas.payments import (
    BehaviourPublic,
    BehaviourUpdate,
    NotifyAnswer,
    PaymentCreate,
    PaymentPublic,
    PaymentStatusPublic,
    Provider,
    WalletPaymentPublic,
)
from insurance.money import format_amount, from_fen
from settlement.bootstrap import Container
from settlement.payments import service
from settlement.payments.wallets import SIGNATURE_HEADER, set_behaviour
from settlement.unit_of_work import UnitOfWork

logger = logging.getLogger("shuxin.api.payments")

router = APIRouter(tags=["payments"], route_class=ExactJsonRoute)
sandbox_router = APIRouter(prefix="/sandbox/v1", tags=["sandbox"], route_class=ExactJsonRoute)

BillId = Annotated[str, Path(min_length=1, max_length=40, examples=["BL20261123A1B2C3D4E5F6"])]
PaymentId = Annotated[str, Path(min_length=1, max_length=40, examples=["PY20261124A1B2C3D4E5F6"])]


def responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` listing the error codes a call can answer with."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    return {
        status: {
            "description": "; ".join(f"`{c}`: {ERROR_CODES[c][1]}" for c in listed),
            "content": {
                "application/json": {
                    "example": {"error": {"code": listed[0], "message": ERROR_CODES[listed[0]][1]}}
                }
            },
        }
        for status, listed in sorted(by_status.items())
    }


def deliver_sandbox_callbacks(container: Container) -> None:
    """After the payment committed, the sandbox provider's callbacks arrive (succeed/fail)."""
    try:
        service.deliver_due_callbacks(container)
    except Exception:  # the payment is committed; a callback left queued is delivered later
        logger.exception("delivering sandbox wallet callbacks failed")


def payment_public(result: service.PaymentResult) -> PaymentPublic:
    payment = result.payment
    return PaymentPublic(
        bill_id=result.bill.bill_id,
        status=result.bill.status,
        setlinfo=setlinfo_public(result.settlement.setlinfo, result.settlement.setl_id),
        payment=None
        if payment is None
        else WalletPaymentPublic(
            payment_id=payment.payment_id,
            provider=payment.provider,
            amount=format_amount(payment.amount),
            status=payment.status,
        ),
    )


@router.post(
    "/v1/bills/{bill_id}/payments",
    status_code=201,
    response_model=PaymentPublic,
    summary="Pay a bill: personal account first, then the wallet",
    responses=responses(
        "unauthenticated",
        "not_found",
        "bill_settled",
        "bill_not_payable",
        "idempotency_key_reused",
        "validation_error",
    ),
)
def pay_bill(
    bill_id: BillId,
    body: PaymentCreate,
    psn_no: PatientDep,
    container: ContainerDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Split the bill now and settle it; the wallet part stays `pending` until its callback."""

    def action(uow: UnitOfWork) -> tuple[int, PaymentPublic]:
        result = service.start_payment(
            uow,
            container=container,
            bill_id=bill_id,
            payer_psn_no=psn_no,
            provider=body.wallet,
            channel="app",
        )
        return 201, payment_public(result)

    response = idem.run(scope=f"patient:{psn_no}", action=action)
    deliver_sandbox_callbacks(container)
    return response


@router.get(
    "/v1/payments/{payment_id}",
    response_model=PaymentStatusPublic,
    summary="A wallet payment and its settlement",
    responses=responses("unauthenticated", "not_found"),
)
def get_payment(payment_id: PaymentId, psn_no: PatientDep, uow: UowDep) -> PaymentStatusPublic:
    """Whether the wallet confirmed (`succeeded`), refused (`failed`) or is still `pending`."""
    with uow:
        order, record = service.payment_of(uow.session, order_id=payment_id, psn_no=psn_no)
        return PaymentStatusPublic(
            payment_id=order.order_id,
            bill_id=order.bill_id,
            provider=order.provider,
            amount=format_amount(from_fen(order.amount_fen)),
            status=order.status,
            setl_id=record.setl_id,
            setlinfo=setlinfo_public(record.setlinfo, record.setl_id),
        )


NOTIFY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "`malformed` body or `amount_mismatch`: refused and recorded"},
    401: {"description": "`bad_signature`: refused and recorded, nothing changed"},
    404: {"description": "`unknown_order` or unknown provider: recorded"},
}


@router.post(
    "/v1/wallets/{provider}/notify",
    response_model=NotifyAnswer,
    summary="A wallet provider's signed payment callback",
    responses=NOTIFY_RESPONSES,
)
async def wallet_notify(
    provider: Annotated[str, Path(max_length=16, examples=["wechat"])],
    request: Request,
    container: ContainerDep,
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER,
            description="lowercase hex HMAC-SHA256 of the raw body under the wallet secret",
        ),
    ] = None,
) -> JSONResponse:
    """Verify and apply a callback; repeats and out-of-order ones change nothing twice."""
    body = await request.body()
    with container.uow() as uow:
        outcome = service.receive_callback(
            uow, container=container, provider=provider, body=body, signature=signature
        )
        uow.commit()  # refusals are recorded too
    answer = NotifyAnswer(
        code="SUCCESS" if outcome.accepted else "FAIL",
        message=f"{outcome.outcome}: {outcome.message}",
    ).model_dump()
    if not outcome.accepted:
        # The provider reads code/message; every other client, the service's error envelope.
        answer |= error_body(outcome.outcome, outcome.message)
    return JSONResponse(answer, status_code=outcome.http_status)


@sandbox_router.post(
    "/wallets/{provider}/behaviour",
    response_model=BehaviourPublic,
    summary="Set what the sandbox wallet does with its next order",
    responses=responses("not_found", "validation_error"),
)
def wallet_behaviour(
    provider: Provider, body: BehaviourUpdate, container: ContainerDep, uow: UowDep
) -> BehaviourPublic:
    """`succeed`, `fail` or `delay` the next order (or every order, with `repeat`)."""
    with uow:
        row = set_behaviour(
            uow.session,
            provider=provider,
            next_behaviour=body.next,
            repeat=body.repeat,
            now=container.clock.now(),
        )
        uow.commit()
        return BehaviourPublic(provider=provider, next=body.next, repeat=row.repeat)
