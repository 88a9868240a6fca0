"""The service agreement (``/v1/agreements``): read it, sign it, revoke it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.auth import PatientDep
from api.deps import ContainerDep
from api.errors import ApiError
from api.exact_json import ExactJsonRoute
from api.idempotency import OptionalIdempotencyDep
from api.logs import audit
from api.openapi import bearer_errors
from api.presenters import iso, signed_up_public
from api.schemas.his import ReasonPublic
from api.schemas.patients import (
    AgreementPublic,
    AgreementSign,
    CreditDecisionPublic,
    RevocationPublic,
)
from insurance.money import format_amount
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.credit import agreements
from settlement.usecases.credit.decisions import current_agreement

router = APIRouter(prefix="/v1/agreements", tags=["patients"], route_class=ExactJsonRoute)

#: The channel recorded with a signature made through this API (the patient's app).
APP_CHANNEL = "app"


@router.get(
    "/current",
    response_model=AgreementPublic,
    summary="The service agreement in force",
)
def get_current_agreement(container: ContainerDep) -> AgreementPublic:
    """The agreement version to sign, its full text, an English summary and its SHA-256."""
    agreement = current_agreement(config=container.credit_config, clock=container.clock)
    return AgreementPublic(
        version=agreement.version,
        title=agreement.title,
        text=agreement.text,
        summary_en=agreement.summary_en,
        sha256=agreement.sha256,
    )


@router.post(
    "",
    status_code=201,
    response_model=CreditDecisionPublic,
    summary="Sign the agreement and get a credit decision",
    responses=bearer_errors(
        "forbidden",
        "patient_not_found",
        "version_mismatch",
        "idempotency_key_reused",
        "idempotency_key_in_use",
        "validation_error",
        "invalid_certno",
        "identity_mismatch",
        "credit_report_unavailable",
    ),
)
def sign(
    body: AgreementSign,
    request: Request,
    psn_no: PatientDep,
    container: ContainerDep,
    idem: OptionalIdempotencyDep,
) -> JSONResponse:
    """Sign the version in force for yourself; identity must match the insurance record."""
    client_addr = request.client.host if request.client is not None else ""
    user_agent = request.headers.get("user-agent", "")

    def action(uow: UnitOfWork) -> tuple[int, CreditDecisionPublic]:
        if body.psn_no != psn_no:
            raise ApiError("forbidden", "you may sign only for yourself")
        signed = agreements.sign_up(
            uow.session,
            container=container,
            psn_no=body.psn_no,
            certno=body.certno,
            psn_name=body.psn_name,
            version=body.version,
            autopay=body.autopay,
            channel=APP_CHANNEL,
            client_addr=client_addr,
            user_agent=user_agent,
        )
        return 201, signed_up_public(signed)

    response = idem.run(scope=f"patient:{psn_no}", action=action)
    audit.info("agreement signing answered", version=body.version, status=response.status_code)
    return response


@router.delete(
    "/current",
    response_model=RevocationPublic,
    summary="Revoke the agreement",
    responses=bearer_errors(
        "not_signed",
        "outstanding_balance",
        "idempotency_key_reused",
        "idempotency_key_in_use",
        "validation_error",
    ),
)
def revoke(
    psn_no: PatientDep, container: ContainerDep, idem: OptionalIdempotencyDep
) -> JSONResponse:
    """Revoke your agreement; refused while a bill is unpaid or a visit is open."""

    def action(uow: UnitOfWork) -> tuple[int, RevocationPublic]:
        revoked = agreements.revoke(uow.session, container=container, psn_no=psn_no)
        decision = revoked.decision
        return 200, RevocationPublic(
            psn_no=psn_no,
            status="not_signed",
            credit_line=format_amount(revoked.granted),
            revoked_at=iso(revoked.revoked_at),
            reasons=[ReasonPublic(code=r.code, zh=r.zh, en=r.en) for r in decision.reasons],
        )

    return idem.run(scope=f"patient:{psn_no}", action=action)
