"""A family story over the whole service: a manager, a relative, hospitals, helpers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from settlement.foundation.ports import PersonRecord
from tests.harness import HisClient, Service


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@dataclass
class Family:
    service: Service
    his: HisClient
    manager: PersonRecord
    relative: PersonRecord
    manager_auth: dict[str, str]
    relative_auth: dict[str, str]

    @property
    def client(self) -> Any:
        return self.service.client

    def post(self, path: str, auth: dict[str, str], body: Any = None) -> httpx.Response:
        return self.client.post(path, json={} if body is None else body, headers={**auth, **key()})

    def delete(self, path: str, auth: dict[str, str]) -> httpx.Response:
        return self.client.delete(path, headers={**auth, **key()})

    def get(self, path: str, auth: dict[str, str]) -> httpx.Response:
        return self.client.get(path, headers=auth)


def invite(
    service: Service,
    manager_auth: dict[str, str],
    relative: PersonRecord,
    relation: str = "parent",
    certno: str | None = None,
) -> httpx.Response:
    return service.client.post(
        "/v1/family/invitations",
        json={
            "psn_no": relative.psn_no,
            "certno": relative.certno if certno is None else certno,
            "relation": relation,
        },
        headers={**manager_auth, **key()},
    )


def link(
    service: Service,
    manager_auth: dict[str, str],
    relative: PersonRecord,
    relative_auth: dict[str, str],
    relation: str = "parent",
) -> str:
    """Invite and accept; returns the invitation id."""
    invited = invite(service, manager_auth, relative, relation)
    assert invited.status_code == 201, invited.text
    invitation_id: str = invited.json()["invitation_id"]
    accepted = service.client.post(
        f"/v1/family/invitations/{invitation_id}/accept",
        json={},
        headers={**relative_auth, **key()},
    )
    assert accepted.status_code == 200, accepted.text
    return invitation_id


def make_family(
    service: Service,
    *,
    relation: str = "parent",
    manager_balc: str = "300.00",
    relative_balc: str = "0.00",
    sign_relative: bool = True,
    mutual_aid: bool = True,
) -> Family:
    """A signed manager and an elderly relative linked to them (signed unless told not), bound
    for family mutual aid unless told not (issue 16: mutual aid needs the manager's consent)."""
    his = service.hospitals.get("H001") or service.add_hospital("H001", level=3)
    manager, _ = service.enrol(balc=manager_balc)
    relative = service.add_person(balc=relative_balc, psn_type="12", birth=date(1950, 3, 12))
    if sign_relative:
        service.sign(relative)
    manager_auth = service.login(manager)
    relative_auth = service.login(relative)
    link(service, manager_auth, relative, relative_auth, relation)
    if mutual_aid:
        bound = service.client.put(
            f"/v1/family/members/{relative.psn_no}/mutual-aid",
            json={"enabled": True},
            headers=manager_auth,
        )
        assert bound.status_code == 200, bound.text
    return Family(service, his, manager, relative, manager_auth, relative_auth)


def charge(his: HisClient, psn_no: str, amount: str) -> tuple[str, httpx.Response]:
    """Open a visit for ``psn_no`` and post one unlisted (class C) line of ``amount``."""
    opened = his.open_visit(psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id: str = opened.json()["mdtrt_id"]
    return mdtrt_id, his.charge(mdtrt_id, ("UNLISTED-ITEM", amount, "1"))


def close(his: HisClient, mdtrt_id: str) -> dict[str, Any]:
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code in (200, 201), closed.text
    body: dict[str, Any] = closed.json()
    return body


def credit(service: Service, auth: dict[str, str]) -> dict[str, Any]:
    answer = service.client.get("/v1/me/credit", headers=auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def make_family_quietly(service: Service) -> tuple[HisClient, PersonRecord, PersonRecord]:
    """:func:`make_family`'s manager and relative, linked in the database instead of over HTTP
    (no logins: a property test builds many families and would meet the login rate limits)."""
    from settlement.billing.family_tables import ACTIVE, FamilyLink

    his = service.hospitals.get("H001") or service.add_hospital("H001", level=3)
    manager, _ = service.enrol()
    relative = service.add_person(balc="0.00", psn_type="12", birth=date(1950, 3, 12))
    service.sign(relative)
    now = service.clock.now()
    with service.container.uow() as uow:
        uow.session.add(
            FamilyLink(
                link_id=f"FL{uuid.uuid4().hex[:20]}",
                manager_psn_no=manager.psn_no,
                relative_psn_no=relative.psn_no,
                relation="parent",
                status=ACTIVE,
                invited_by_psn_no=manager.psn_no,
                invited_at=now,
                accepted_via="app",
                accepted_at=now,
            )
        )
        uow.commit()
    return his, manager, relative


def posted_and_cancelled(
    his: HisClient,
    mdtrt_id: str,
    steps: list[tuple[str, object]],
    *,
    item: str | None = None,
    after_each: Callable[[dict[str, Decimal]], None] | None = None,
) -> dict[str, Decimal]:
    """Play ``steps`` on the visit: ``("post", [amounts])`` charges a batch of ``item`` lines
    (or ``("post", [(item, amount)])``, each line its own item; a batch beyond the line may be
    refused), ``("cancel", n)`` cancels the n-th line held (modulo). Returns the lines still held
    by ``feedetl_sn``; ``after_each`` sees them after every step."""
    held: dict[str, Decimal] = {}
    for kind, what in steps:
        if kind == "post":
            assert isinstance(what, list)
            answer = his.charge(mdtrt_id, *[_fee_line(entry, item) for entry in what])
            assert answer.status_code in (201, 402), answer.text
            if answer.status_code == 201:
                for fee in answer.json()["fees"]:
                    held[fee["feedetl_sn"]] = Decimal(fee["det_item_fee_sumamt"])
        elif held:
            assert isinstance(what, int)
            sn = sorted(held)[what % len(held)]
            cancelled = his.delete(f"/his/v1/visits/{mdtrt_id}/fees/{sn}")
            assert cancelled.status_code == 200, cancelled.text
            del held[sn]
        if after_each is not None:
            after_each(held)
    return held


def _fee_line(entry: object, item: str | None) -> tuple[str, str, str]:
    """A posted line: an ``(item, amount)`` pair as it is, a bare amount of ``item``."""
    if isinstance(entry, tuple):
        code, amount = entry
        return str(code), str(amount), "1"
    assert item is not None, "a bare amount needs the item it is of"
    return item, f"{entry:.2f}", "1"
