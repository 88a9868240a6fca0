"""The family side: who invites, seen from the invitee's side; names in full for a manager."""

from __future__ import annotations

from datetime import date

import pytest

from tests.integration.family.support import invite
from tests.integration.pages.conftest import browse
from tests.integration.payments.support import login


def _masked(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)


@pytest.mark.parametrize(
    ("relation", "manager_is"),
    [("parent", "child"), ("child", "parent"), ("spouse", "spouse"), ("other", "other")],
)
def test_an_invitation_names_the_inviter_masked_and_the_relation_from_the_invitees_side(
    service, relation, manager_is
):
    child, _ = service.enrol()
    parent = service.add_person(psn_type="12", birth=date(1950, 3, 12))
    assert invite(service, login(service, child), parent, relation).status_code == 201

    answer = service.client.get("/v1/family/invitations", headers=login(service, parent))

    (invitation,) = answer.json()["invitations"]
    assert invitation["manager_name"] == _masked(child.psn_name)
    assert invitation["manager_relation"] == manager_is
    assert invitation["relation"] == relation  # what the invitee is to the manager, as before


def test_the_invitation_on_the_page_says_your_child_invites_you(service):
    child, _ = service.enrol()
    parent = service.add_person(psn_type="12", birth=date(1950, 3, 12))
    assert invite(service, login(service, child), parent, "parent").status_code == 201

    page = browse(service, parent).get("/app/family")

    invitations = page.text.split('data-testid="invitations"', 1)[1].split("</section>", 1)[0]
    assert _masked(child.psn_name) in invitations
    assert "子女" in invitations
    assert "父母" not in invitations
    assert child.psn_name not in invitations


def test_a_parent_sees_their_manager_as_their_child_on_the_family_and_end_link_pages(service):
    from tests.integration.family.support import make_family

    family = make_family(service, relation="parent")
    browser = browse(service, family.relative)

    page = browser.get("/app/family").text
    end = browser.get(f"/app/family/{family.manager.psn_no}/end").text

    manager = page.split('data-testid="manager">', 1)[1].split("</p>", 1)[0]
    assert "子女" in manager and "父母" not in manager
    assert "子女" in end and "父母" not in end
    managers_view = browse(service, family.manager).get(f"/app/family/{family.relative.psn_no}/end")
    assert "父母" in managers_view.text


def test_a_manager_tells_two_parents_of_one_surname_apart_on_their_pages(service):
    from tests.integration.family.support import link

    manager, _ = service.enrol()
    manager_auth = login(service, manager)
    parents = [
        service.add_person(psn_type="12", birth=date(1950, 3, 12), psn_name=name)
        for name in ("王秀英", "王秀兰")
    ]
    for parent in parents:
        service.sign(parent)
        link(service, manager_auth, parent, login(service, parent))
    browser = browse(service, manager)

    page = browser.get("/app/family").text

    shown = [part.split("</strong>", 1)[0] for part in page.split("<strong>")[1:]]
    assert {"王秀英", "王秀兰"} <= set(shown)
    assert "王**" not in page
    for parent in parents:
        bills = browser.get(f"/app/family/{parent.psn_no}").text
        assert parent.psn_name in bills
