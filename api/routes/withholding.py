"""A patient's withholding agreement with a wallet (无感支付), which auto-pay charges.

A patient who signs with ``autopay`` ``on_close`` or ``before_deadline`` is charged by the
scheduler only through a wallet they have authorised to withhold; without one, auto-pay skips
the bill and it waits for the patient. PUT and DELETE are idempotent by themselves (no key).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import PatientDep
from api.deps import ContainerDep
from api.exact_json import ExactJsonRoute
from api.openapi import example_response
from api.schemas.payments import Provider, WithholdingPublic
from settlement.usecases.paying import payments as service

router = APIRouter(prefix="/v1/wallets", tags=["payments"], route_class=ExactJsonRoute)

ProviderPath = Annotated[Provider, Path(examples=["wechat"])]


@router.get(
    "/{provider}/withholding",
    response_model=WithholdingPublic,
    summary="Whether auto-pay may charge this wallet",
    responses={200: example_response({"provider": "wechat", "status": "active"})},
)
def get_withholding(
    provider: ProviderPath, psn_no: PatientDep, container: ContainerDep
) -> WithholdingPublic:
    with container.uow() as uow:
        active = service.wallet_for(container, uow.session, provider).has_agreement(psn_no)
    return WithholdingPublic(provider=provider, status="active" if active else "none")


@router.put(
    "/{provider}/withholding",
    response_model=WithholdingPublic,
    summary="Authorise auto-pay to charge this wallet (无感支付)",
    responses={200: example_response({"provider": "wechat", "status": "active"})},
)
def authorise_withholding(
    provider: ProviderPath, psn_no: PatientDep, container: ContainerDep
) -> WithholdingPublic:
    """The sandbox wallet agrees at once; a provider's own confirmation page would come here."""
    with container.uow() as uow:
        service.authorise_withholding(container, uow.session, psn_no=psn_no, provider=provider)
        uow.commit()
    return WithholdingPublic(provider=provider, status="active")


@router.delete(
    "/{provider}/withholding",
    response_model=WithholdingPublic,
    summary="End auto-pay's authority over this wallet",
    responses={200: example_response({"provider": "wechat", "status": "none"})},
)
def revoke_withholding(
    provider: ProviderPath, psn_no: PatientDep, container: ContainerDep
) -> WithholdingPublic:
    with container.uow() as uow:
        service.revoke_withholding(container, uow.session, psn_no=psn_no, provider=provider)
        uow.commit()
    return WithholdingPublic(provider=provider, status="none")
