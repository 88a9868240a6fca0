"""Who may see and do what: the manager, the relative, a stranger, another family's manager and
a hospital, over every family and bill call."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.harness import Service
from tests.integration.family.support import Family, charge, close, key, make_family

Call = Callable[[Family, dict[str, str], str], httpx.Response]


@pytest.fixture
def world(service: Service) -> dict[str, object]:
    family = make_family(service)
    other = make_family(service)  # another family: its manager manages someone else
    stranger, _ = service.enrol()
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, "30.00")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    manager_visit, _ = charge(family.his, family.manager.psn_no, "20.00")
    manager_bill = close(family.his, manager_visit)["bill_id"]
    return {
        "family": family,
        "bill": bill_id,
        "manager_bill": manager_bill,
        "actors": {
            "manager": family.manager_auth,
            "relative": family.relative_auth,
            "stranger": service.login(stranger),
            "other_manager": other.manager_auth,
        },
    }


def _get(path: str) -> Call:
    return lambda family, auth, bill: family.get(
        path.format(r=family.relative.psn_no, b=bill), auth
    )


#: (call, who answers 200) — everyone else gets 404 (nothing is revealed), a hospital 401.
READS: list[tuple[str, Call, set[str]]] = [
    ("relative's bills", _get("/v1/family/members/{r}/bills"), {"manager"}),
    ("relative's credit", _get("/v1/family/members/{r}/credit"), {"manager"}),
    ("relative's bill", _get("/v1/bills/{b}"), {"manager", "relative"}),
]


@pytest.mark.parametrize(("name", "call", "allowed"), READS, ids=[r[0] for r in READS])
def test_reads_answer_only_the_manager_and_the_patient(
    world: dict[str, object], name: str, call: Call, allowed: set[str]
) -> None:
    family = world["family"]
    assert isinstance(family, Family)
    actors = world["actors"]
    assert isinstance(actors, dict)
    for actor, auth in actors.items():
        answer = call(family, auth, str(world["bill"]))
        expected = 200 if actor in allowed else 404
        assert answer.status_code == expected, (name, actor, answer.text)
    hospital = call(family, {}, str(world["bill"]))
    assert hospital.status_code == 401
    signed = family.his.get(f"/v1/bills/{world['bill']}")
    assert signed.status_code == 401


def test_the_relative_cannot_see_the_managers_bills_or_credit(world: dict[str, object]) -> None:
    family = world["family"]
    assert isinstance(family, Family)
    auth = family.relative_auth
    assert family.get(f"/v1/bills/{world['manager_bill']}", auth).status_code == 404
    path = f"/v1/family/members/{family.manager.psn_no}"
    assert family.get(f"{path}/bills", auth).status_code == 404
    assert family.get(f"{path}/credit", auth).status_code == 404
    # The relative sees the manager in their list, masked.
    listed = family.get("/v1/family/members", auth).json()
    assert [m["psn_no"] for m in listed["managers"]] == [family.manager.psn_no]
    assert "*" in listed["managers"][0]["certno"]
    assert listed["relatives"] == []


def test_only_the_manager_and_the_patient_may_pay_and_only_the_manager_may_sign(
    world: dict[str, object],
) -> None:
    family = world["family"]
    assert isinstance(family, Family)
    actors = world["actors"]
    assert isinstance(actors, dict)
    bill = world["bill"]
    relative = family.relative
    sign_body = {
        "certno": relative.certno,
        "psn_name": relative.psn_name,
        "version": 1,
        "accept": True,
        "autopay": "off",
    }
    for actor in ("stranger", "other_manager"):
        auth = actors[actor]
        paid = family.post(f"/v1/bills/{bill}/payments", auth, {"wallet": "wechat"})
        assert paid.status_code == 404, (actor, paid.text)
        signed = family.post(f"/v1/family/members/{relative.psn_no}/agreement", auth, sign_body)
        assert signed.status_code == 404, (actor, signed.text)
        ended = family.delete(f"/v1/family/members/{relative.psn_no}", auth)
        assert ended.status_code == 404, (actor, ended.text)
    relative_signs_self = family.post(
        f"/v1/family/members/{relative.psn_no}/agreement", family.relative_auth, sign_body
    )
    assert relative_signs_self.status_code == 404
    hospital_pays = family.his.post(f"/v1/bills/{bill}/payments", {"wallet": "wechat"})
    assert hospital_pays.status_code == 401
    assert (
        family.post(
            f"/v1/bills/{bill}/payments", family.manager_auth, {"wallet": "wechat"}
        ).status_code
        == 201
    )


def test_invitations_are_accepted_only_by_the_person_invited_and_confirmed_only_by_a_hospital(
    service: Service, world: dict[str, object]
) -> None:
    family = world["family"]
    assert isinstance(family, Family)
    actors = world["actors"]
    assert isinstance(actors, dict)
    newcomer = service.add_person()
    invited = service.client.post(
        "/v1/family/invitations",
        json={"psn_no": newcomer.psn_no, "certno": newcomer.certno, "relation": "child"},
        headers={**family.manager_auth, **key()},
    )
    invitation = invited.json()["invitation_id"]
    for actor in ("manager", "relative", "stranger", "other_manager"):
        accepted = family.post(f"/v1/family/invitations/{invitation}/accept", actors[actor])
        assert accepted.status_code == 404, actor
        listed = family.get("/v1/family/invitations", actors[actor]).json()
        assert invitation not in [i["invitation_id"] for i in listed["invitations"]]
    by_patient = service.client.post(
        "/his/v1/family/confirmations",
        json={"invitation_id": invitation, "staff_id": "S1", "certno_checked": True},
        headers={**family.manager_auth, **key()},
    )
    assert by_patient.status_code == 401
    newcomer_auth = service.login(newcomer)
    assert (
        family.post(f"/v1/family/invitations/{invitation}/accept", newcomer_auth).status_code == 200
    )
