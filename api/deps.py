"""FastAPI dependencies: the container, a unit of work per request, the charge groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from settlement.bootstrap import Container
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.usecases.charging.groups import ChargeGroups

# Both are ``async`` although they wait for nothing: FastAPI runs a plain ``def`` dependency on
# the thread pool, a thread hop (and a turn at the interpreter lock) per request for a lookup.


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_uow(container: ContainerDep) -> UnitOfWork:
    return container.uow()


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_charge_groups(request: Request) -> ChargeGroups:
    groups: ChargeGroups = request.app.state.charge_groups
    return groups


ChargeGroupsDep = Annotated[ChargeGroups, Depends(get_charge_groups)]
