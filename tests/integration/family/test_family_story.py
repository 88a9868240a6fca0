"""Family accounts through the API: links, proxy signing, shared credit, mutual aid, endings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from settlement.adapters.sandbox_tables import SandboxInsuredPerson
from settlement.billing.credit_tables import AgreementSignatureRow
from settlement.billing.family_tables import FamilyLink
from settlement.ledger.ledger import get_account
from tests.harness import Service
from tests.integration.family.support import (
    Family,
    charge,
    close,
    credit,
    invite,
    key,
    link,
    make_family,
)


def balance(service: Service, psn_no: str) -> Decimal:
    with service.container.uow() as uow:
        row = uow.session.get_one(SandboxInsuredPerson, psn_no)
        return Decimal(row.balc_fen) / 100


def pay(family: Family, bill_id: str, auth: dict[str, str]) -> dict[str, object]:
    paid = family.post(f"/v1/bills/{bill_id}/payments", auth, {"wallet": "wechat"})
    assert paid.status_code == 201, paid.text
    body: dict[str, object] = paid.json()
    return body


def test_the_whole_story_invite_accept_proxy_sign_charge_remind_pay_and_end(
    service: Service,
) -> None:
    family = make_family(service, sign_relative=False)
    relative = family.relative
    # The elderly relative has not signed: the manager signs for them.
    version = service.client.get("/v1/agreements/current").json()["version"]
    signed = family.post(
        f"/v1/family/members/{relative.psn_no}/agreement",
        family.manager_auth,
        {
            "certno": relative.certno,
            "psn_name": relative.psn_name,
            "version": version,
            "accept": True,
            "autopay": "off",
        },
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["status"] == "active"
    with service.container.uow() as uow:
        signature = uow.session.scalars(
            select(AgreementSignatureRow).where(AgreementSignatureRow.psn_no == relative.psn_no)
        ).one()
        assert signature.proxy_by_psn_no == family.manager.psn_no
        assert signature.channel == "family_proxy"
        assert uow.session.scalars(select(FamilyLink)).one().proxy_signed_at is not None

    mdtrt_id, charged = charge(family.his, relative.psn_no, "120.00")
    assert charged.status_code == 201, charged.text
    bill_id = close(family.his, mdtrt_id)["bill_id"]

    # Both are reminded: the scheduler's notices go to the patient and the manager.
    service.client.post("/sandbox/v1/scheduler/run")
    messages = service.client.get("/sandbox/v1/messages").json()
    told = {m["psn_no"] for m in messages if m["kind"] == "remind_close"}
    assert {relative.psn_no, family.manager.psn_no} <= told
    to_manager = [m["body"] for m in messages if m["psn_no"] == family.manager.psn_no]
    assert any("您的亲属" in body for body in to_manager)

    # The manager sees the bill, and pays it.
    listed = family.get(f"/v1/family/members/{relative.psn_no}/bills", family.manager_auth)
    assert [b["bill_id"] for b in listed.json()["bills"]] == [bill_id]
    assert family.get(f"/v1/bills/{bill_id}", family.manager_auth).status_code == 200
    paid = pay(family, bill_id, family.manager_auth)
    assert paid["status"] in ("paying", "settled")
    settled = family.get(f"/v1/bills/{bill_id}", family.manager_auth).json()
    assert settled["status"] == "settled"

    ended = family.delete(f"/v1/family/members/{relative.psn_no}", family.manager_auth)
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"
    assert family.get(f"/v1/bills/{bill_id}", family.manager_auth).status_code == 404


def test_the_counter_confirms_an_invitation_and_records_hospital_and_staff(
    service: Service,
) -> None:
    his = service.add_hospital("H002", level=2)
    manager, _ = service.enrol()
    relative = service.add_person(birth=date(1948, 1, 2))
    manager_auth = service.login(manager)
    invited = invite(service, manager_auth, relative)
    assert invited.status_code == 201, invited.text
    confirmed = his.post(
        "/his/v1/family/confirmations",
        {
            "manager_psn_no": manager.psn_no,
            "relative_psn_no": relative.psn_no,
            "staff_id": "S0042",
            "certno_checked": True,
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["status"] == "active"
    assert body["accepted_via"] == "counter"
    assert body["accepted_hospital_code"] == "H002"
    with service.container.uow() as uow:
        assert uow.session.scalars(select(FamilyLink)).one().accepted_staff_id == "S0042"
    unchecked = his.post(
        "/his/v1/family/confirmations",
        {"invitation_id": body["invitation_id"], "staff_id": "S1", "certno_checked": False},
    )
    assert unchecked.status_code == 422


def test_invitations_are_refused_for_a_wrong_certno_a_bad_certno_oneself_and_duplicates(
    service: Service,
) -> None:
    manager, _ = service.enrol()
    relative = service.add_person()
    stranger = service.add_person()
    auth = service.login(manager)
    wrong = invite(service, auth, relative, certno=stranger.certno)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "identity_mismatch"
    bad = invite(service, auth, relative, certno=relative.certno[:17] + "Y")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_certno"
    myself = invite(service, auth, manager)
    assert myself.status_code == 422
    assert invite(service, auth, relative).status_code == 201
    again = invite(service, auth, relative, relation="spouse")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "family_link_exists"


def test_an_unsigned_manager_cannot_invite(service: Service) -> None:
    manager = service.add_person()
    relative = service.add_person()
    refused = invite(service, service.login(manager), relative)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_signed"


def test_limits_five_relatives_per_manager_and_two_managers_per_relative(
    service: Service,
) -> None:
    manager, _ = service.enrol()
    auth = service.login(manager)
    for _ in range(5):
        assert invite(service, auth, service.add_person()).status_code == 201
    sixth = invite(service, auth, service.add_person())
    assert sixth.status_code == 409
    assert sixth.json()["error"]["code"] == "family_limit_reached"
    assert sixth.json()["error"]["limit"] == "max_relatives_per_manager"

    relative = service.add_person()
    for _ in range(2):
        other, _ = service.enrol()
        assert invite(service, service.login(other), relative).status_code == 201
    third, _ = service.enrol()
    refused = invite(service, service.login(third), relative)
    assert refused.status_code == 409
    assert refused.json()["error"]["limit"] == "max_managers_per_relative"


def test_a_charge_beyond_the_relatives_line_draws_on_the_managers_line(service: Service) -> None:
    family = make_family(service)
    own = Decimal(credit(service, family.relative_auth)["available"])
    shared = Decimal("150.00")
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, f"{own + shared:.2f}")
    assert charged.status_code == 201, charged.text
    manager_before = Decimal(credit(service, family.manager_auth)["credit_line"])
    assert Decimal(credit(service, family.relative_auth)["available"]) == 0
    assert Decimal(credit(service, family.manager_auth)["available"]) == manager_before - shared
    # A batch beyond what both lines have left is refused whole, with the combined figure.
    refused = family.his.charge(mdtrt_id, ("UNLISTED-ITEM", f"{manager_before:.2f}", "1"))
    assert refused.status_code == 402
    assert refused.json()["error"]["available"] == f"{manager_before - shared:.2f}"
    # Ending the link is refused while the open visit holds on the manager's line.
    refused_end = family.delete(f"/v1/family/members/{family.manager.psn_no}", family.relative_auth)
    assert refused_end.status_code == 409
    assert refused_end.json()["error"]["code"] == "outstanding_balance"
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    with service.container.uow() as uow:
        manager_line = get_account(uow.session, f"patient:{family.manager.psn_no}:line")
        assert manager_line.debits_posted == shared
    refused_end = family.delete(f"/v1/family/members/{family.relative.psn_no}", family.manager_auth)
    assert refused_end.status_code == 409
    pay(family, bill_id, family.manager_auth)
    assert Decimal(credit(service, family.manager_auth)["available"]) == manager_before
    assert (
        family.delete(
            f"/v1/family/members/{family.relative.psn_no}", family.manager_auth
        ).status_code
        == 200
    )


def test_cancelling_a_split_line_releases_both_lines(service: Service) -> None:
    family = make_family(service)
    own = Decimal(credit(service, family.relative_auth)["available"])
    manager_before = Decimal(credit(service, family.manager_auth)["available"])
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, f"{own + 10:.2f}")
    assert charged.status_code == 201
    sn = charged.json()["fees"][0]["feedetl_sn"]
    cancelled = family.his.delete(f"/his/v1/visits/{mdtrt_id}/fees/{sn}")
    assert cancelled.status_code == 200, cancelled.text
    assert Decimal(credit(service, family.relative_auth)["available"]) == own
    assert Decimal(credit(service, family.manager_auth)["available"]) == manager_before


def test_mutual_aid_pays_exactly_from_the_managers_account_for_a_parent(service: Service) -> None:
    family = make_family(service, manager_balc="80.25", relative_balc="10.00")
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, "200.00")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    paid = pay(family, bill_id, family.manager_auth)
    info = paid["setlinfo"]
    assert isinstance(info, dict)
    assert Decimal(info["acct_mulaid_pay"]) == Decimal("80.25")
    assert Decimal(info["acct_pay"]) == Decimal("90.25")  # own 10.00 first, then mutual aid
    assert Decimal(info["acct_mulaid_pay"]) <= Decimal(info["acct_pay"])
    assert Decimal(info["acct_pay"]) + Decimal(info["psn_cash_pay"]) == Decimal(
        info["psn_part_amt"]
    )
    assert balance(service, family.manager.psn_no) == 0
    assert balance(service, family.relative.psn_no) == 0
    with service.container.uow() as uow:
        account = get_account(uow.session, f"patient:{family.manager.psn_no}:insurance_account")
        assert account.debits_posted == Decimal("80.25")


def test_the_relation_other_gets_no_mutual_aid(service: Service) -> None:
    family = make_family(service, relation="other", manager_balc="500.00")
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, "50.00")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    info = pay(family, bill_id, family.manager_auth)["setlinfo"]
    assert isinstance(info, dict)
    assert info["acct_mulaid_pay"] == "0.00"
    assert balance(service, family.manager.psn_no) == Decimal("500.00")


def test_an_overdue_shared_bill_freezes_the_manager_until_it_is_paid(service: Service) -> None:
    family = make_family(service)
    own = Decimal(credit(service, family.relative_auth)["available"])
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, f"{own + 5:.2f}")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    # The manager's own visit, opened the morning the bill falls due (so no night closes it):
    # its next charge after the deadline is refused too.
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 71}).status_code == 200
    managers_visit = family.his.open_visit(family.manager.psn_no).json()["mdtrt_id"]
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 2}).status_code == 200
    assert service.client.post("/sandbox/v1/scheduler/run").status_code == 200
    assert family.get(f"/v1/bills/{bill_id}", family.relative_auth).json()["status"] == "overdue"
    frozen = credit(service, family.manager_auth)
    assert frozen["status"] == "frozen"
    assert frozen["available"] == "0.00"
    refused = family.his.open_visit(family.manager.psn_no)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "credit_frozen"
    refused_charge = family.his.charge(managers_visit, ("UNLISTED-ITEM", "1.00", "1"))
    assert refused_charge.status_code == 403, refused_charge.text
    assert refused_charge.json()["error"]["code"] == "credit_frozen"
    assert refused_charge.json()["error"]["overdue_shared_bills"] == [bill_id]
    pay(family, bill_id, family.manager_auth)
    assert credit(service, family.manager_auth)["status"] == "active"
    assert family.his.open_visit(family.manager.psn_no).status_code == 201


def test_a_relative_can_decline_and_a_manager_can_withdraw_an_invitation(service: Service) -> None:
    manager, _ = service.enrol()
    relative = service.add_person()
    manager_auth, relative_auth = service.login(manager), service.login(relative)
    invitation = invite(service, manager_auth, relative).json()["invitation_id"]
    listed = service.client.get("/v1/family/invitations", headers=relative_auth).json()
    assert [i["invitation_id"] for i in listed["invitations"]] == [invitation]
    declined = service.client.delete(
        f"/v1/family/members/{manager.psn_no}", headers={**relative_auth, **key()}
    )
    assert declined.status_code == 200
    accepted = service.client.post(
        f"/v1/family/invitations/{invitation}/accept", json={}, headers={**relative_auth, **key()}
    )
    assert accepted.status_code == 409
    link(service, manager_auth, relative, relative_auth)


def test_a_phone_links_a_family_without_idempotency_keys(service: Service) -> None:
    # The contract asks for a key on HIS writes and payments only; a family's calls work without.
    manager, _ = service.enrol()
    relative = service.add_person(psn_type="12", birth=date(1950, 3, 12))
    manager_auth, relative_auth = service.login(manager), service.login(relative)
    invited = service.client.post(
        "/v1/family/invitations",
        json={"psn_no": relative.psn_no, "certno": relative.certno, "relation": "parent"},
        headers=manager_auth,
    )
    assert invited.status_code == 201, invited.text
    accepted = service.client.post(
        f"/v1/family/invitations/{invited.json()['invitation_id']}/accept",
        json={},
        headers=relative_auth,
    )
    assert accepted.status_code == 200, accepted.text
    linked = service.client.get("/v1/family/members", headers=manager_auth).json()
    assert [r["psn_no"] for r in linked["relatives"]] == [relative.psn_no]
    ended = service.client.delete(f"/v1/family/members/{relative.psn_no}", headers=manager_auth)
    assert ended.status_code == 200, ended.text
    members = service.client.get("/v1/family/members", headers=manager_auth).json()
    assert members == {"relatives": [], "managers": []}
