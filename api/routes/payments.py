"""Paying a bill (``/v1``), the wallet providers' callbacks, and the sandbox wallet's behaviour."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse

from api.auth import PatientDep
from api.deps import ContainerDep, UowDep
from api.errors import error_body
from api.exact_json import ExactJsonRoute
from api.idempotency import IdempotencyDep
from api.logs import audit
from api.openapi import bearer_errors, error_responses
from api.presenters import setlinfo_public
from api.rate_limits import client_address, enforce
from api.schemas.payments import (
    WALLET_CALLBACK_EXAMPLE,
    BehaviourPublic,
    BehaviourUpdate,
    NotifyAnswer,
    NotifyRefusal,
    PaymentCreate,
    PaymentPublic,
    PaymentStatusPublic,
    Provider,
    WalletCallback,
    WalletPaymentPublic,
)
from insurance.money import format_amount, from_fen
from settlement.adapters.wallets import SIGNATURE_HEADER, set_behaviour
from settlement.bootstrap import Container
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.paying import payments as service

logger = logging.getLogger("shuxin.api.payments")

router = APIRouter(tags=["payments"], route_class=ExactJsonRoute)
sandbox_router = APIRouter(prefix="/sandbox/v1", tags=["sandbox"], route_class=ExactJsonRoute)

BillId = Annotated[str, Path(min_length=1, max_length=40, examples=["BL20261123A1B2C3D4E5F6"])]
PaymentId = Annotated[str, Path(min_length=1, max_length=40, examples=["PY20261124A1B2C3D4E5F6"])]


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
        split_version=result.split_version,
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
    responses=bearer_errors(
        "not_found",
        "bill_settled",
        "bill_not_payable",
        "split_changed",
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
    """Split the bill now and settle it; the wallet part stays `pending` until its callback.

    With `split_version` (the bill's `pay_now`), exactly the split shown is taken, or nothing
    (`409 split_changed`, with the new split)."""

    def action(uow: UnitOfWork) -> tuple[int, PaymentPublic]:
        result = service.start_payment(
            uow,
            container=container,
            bill_id=bill_id,
            payer_psn_no=psn_no,
            provider=body.wallet,
            channel="app",
            split_version=body.split_version,
        )
        return 201, payment_public(result)

    response = idem.run(scope=f"patient:{psn_no}", action=action)
    audit.info("payment answered", bill_id=bill_id, status=response.status_code)
    deliver_sandbox_callbacks(container)
    return response


@router.get(
    "/v1/payments/{payment_id}",
    response_model=PaymentStatusPublic,
    summary="A wallet payment and its settlement",
    responses=bearer_errors("not_found"),
)
def get_payment(payment_id: PaymentId, psn_no: PatientDep, uow: UowDep) -> PaymentStatusPublic:
    """Whether the wallet confirmed (`succeeded`), refused (`failed`) or is still `pending`;
    for the patient whose bill it paid and for the family manager who made it."""
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


def _notify_answer(description: str, **examples: tuple[str, str]) -> dict[str, Any]:
    """A documented answer to a provider: ``examples`` maps an outcome to (code, message); a
    refusal (``FAIL``) carries the service's error envelope too, as :func:`wallet_notify` sends."""

    def answer(outcome: str, code: str, message: str) -> dict[str, Any]:
        if code == "SUCCESS":
            return {"code": code, "message": message}
        detail = message.removeprefix(f"{outcome}: ")
        return {"code": code, "message": message, **error_body(outcome, detail)}

    refused = any(code == "FAIL" for code, _ in examples.values())
    return {
        "description": description,
        "model": NotifyRefusal if refused else NotifyAnswer,
        "content": {
            "application/json": {
                "examples": {
                    outcome: {"value": answer(outcome, code, message)}
                    for outcome, (code, message) in examples.items()
                }
            }
        },
    }


_ORDER = WALLET_CALLBACK_EXAMPLE["order_id"]
NOTIFY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _notify_answer(
        "`SUCCESS`: applied, or a repeat (`duplicate`) that changed nothing; an outcome "
        "contradicting the recorded one is settled by the provider's own record (its query): "
        "`ignored` when it confirms what was recorded, else `reconciled` (money taken on an order "
        "recorded failed pays the bill still owed, or is refunded through the wallet; "
        "see `GET /admin/v1/wallet-anomalies`); the provider stops retrying",
        applied=("SUCCESS", f"applied: order {_ORDER} succeeded"),
        duplicate=("SUCCESS", f"duplicate: order {_ORDER} is already succeeded"),
        ignored=("SUCCESS", f"ignored: order {_ORDER} is already succeeded: kept"),
        reconciled=("SUCCESS", f"reconciled: order {_ORDER}: succeeded after failed: applied"),
    ),
    400: _notify_answer(
        "`FAIL`: a `malformed` body, or an `amount_mismatch` with the order; refused and recorded",
        malformed=("FAIL", "malformed: malformed callback: 'seq'"),
        amount_mismatch=(
            "FAIL",
            "amount_mismatch: the order is for 94.00, the callback says 9.40",
        ),
    ),
    401: _notify_answer(
        "`FAIL`: `bad_signature` (missing or wrong `X-Wallet-Signature`); refused and recorded, "
        "nothing changed",
        bad_signature=("FAIL", "bad_signature: the signature does not verify"),
    ),
    404: _notify_answer(
        "`FAIL`: `unknown_order` (no order of this provider has the `order_id`) or "
        "`unknown_provider`; recorded",
        unknown_order=("FAIL", f"unknown_order: no wechat order {_ORDER}"),
        unknown_provider=("FAIL", "unknown_provider: no wallet provider paypal"),
    ),
}
NOTIFY_RESPONSES[429] = {
    "description": "`rate_limited`: more than `SHUXIN_RATE_LIMIT_CALLBACKS_PER_CLIENT` "
    "(600/minute) callbacks from one address; `Retry-After` says when to send again",
    "content": {
        "application/json": {
            "example": error_body(
                "rate_limited", "too many wallet callbacks; retry in 12 s", retry_after=12
            )
        }
    },
}
NOTIFY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The provider's JSON, signed as sent: `X-Wallet-Signature` is the "
        "lowercase hex HMAC-SHA256 of these exact bytes under the wallet secret.",
        "content": {
            "application/json": {
                "schema": WalletCallback.model_json_schema(),
                "example": WALLET_CALLBACK_EXAMPLE,
            }
        },
    }
}


@router.post(
    "/v1/wallets/{provider}/notify",
    response_model=NotifyAnswer,
    summary="A wallet provider's signed payment callback",
    responses=NOTIFY_RESPONSES,
    openapi_extra=NOTIFY_BODY,
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
    enforce(
        container,
        [
            (
                f"callback:client:{client_address(request)}",
                container.settings.rate_limit_callbacks_per_client,
            )
        ],
        what="wallet callbacks",
    )
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
    responses=error_responses("not_found", "validation_error"),
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
