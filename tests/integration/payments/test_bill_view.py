"""A bill as its patient (or their family manager) sees it shows the settlement that stands.

``setlinfo`` is the stored settlement, exactly as the payment (or the refund that settled the
bill again) answered it; ``estimate`` stays the split estimated at close.
"""

from __future__ import annotations

from tests.integration.family.support import charge, close, make_family
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    bill_for,
    login,
    pay,
    set_behaviour,
)


def refund(his, bill_id: str, *sns: str) -> dict:
    response = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": list(sns), "reason": "退药"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def story(service, his):
    """A signed patient with a 330.00 bill at a level-3 hospital, and their bearer header."""
    person, _ = service.enrol(balc="100.00")
    bill_id, sns = bill_for(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    return person, login(service, person), bill_id, sns


def view(service, headers, bill_id: str) -> dict:
    response = service.client.get(f"/v1/bills/{bill_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def listed(service, headers, bill_id: str, path: str = "/v1/me/bills") -> dict:
    response = service.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    (bill,) = [b for b in response.json()["bills"] if b["bill_id"] == bill_id]
    return bill


def test_an_unpaid_bill_shows_no_settlement_only_its_estimate(service, his):
    _, headers, bill_id, _ = story(service, his)
    body = view(service, headers, bill_id)
    assert body["status"] == "billed"
    assert body["setlinfo"] is None
    assert body["estimate"]["medfee_sumamt"] == "330.00"
    assert body["estimate"]["setl_id"] is None
    assert listed(service, headers, bill_id)["setlinfo"] is None


def test_a_bill_whose_payment_is_pending_shows_no_settlement_yet(service, his):
    _, headers, bill_id, _ = story(service, his)
    set_behaviour(service, "delay")
    assert pay(service, headers, bill_id).status_code == 201
    body = view(service, headers, bill_id)
    assert body["status"] == "paying"
    assert body["setlinfo"] is None


def test_a_paid_bill_shows_the_settlement_the_payment_answered_with_its_setl_id(service, his):
    _, headers, bill_id, _ = story(service, his)
    paid = pay(service, headers, bill_id)
    assert paid.status_code == 201, paid.text
    answered = paid.json()["setlinfo"]
    assert answered["setl_id"].startswith("ST")

    body = view(service, headers, bill_id)

    assert body["status"] == "settled"
    assert body["setlinfo"] == answered
    assert (body["setlinfo"]["hifp_pay"], body["setlinfo"]["psn_cash_pay"]) == ("50.00", "180.00")
    assert body["estimate"]["setl_id"] is None  # the estimate at close is kept as it was
    assert listed(service, headers, bill_id)["setlinfo"] == answered


def test_after_a_refund_after_settlement_the_bill_shows_the_new_settlement(service, his):
    _, headers, bill_id, (_, advice) = story(service, his)
    first = pay(service, headers, bill_id).json()["setlinfo"]

    refunded = refund(his, bill_id, advice)  # the 30.00 class C line, all self-pay

    body = view(service, headers, bill_id)
    assert body["status"] == "settled"
    assert body["medfee_sumamt"] == "300.00"
    assert refunded["setlinfo"]["setl_id"] not in (None, first["setl_id"])
    assert body["setlinfo"] == refunded["setlinfo"]
    assert body["setlinfo"]["medfee_sumamt"] == body["medfee_sumamt"]
    assert body["setlinfo"]["psn_cash_pay"] == "150.00"
    assert body["estimate"]["medfee_sumamt"] == "330.00"  # still the estimate at close
    assert listed(service, headers, bill_id)["setlinfo"] == refunded["setlinfo"]


def test_a_bill_refunded_whole_after_settlement_shows_no_settlement(service, his):
    _, headers, bill_id, sns = story(service, his)
    pay(service, headers, bill_id)
    assert refund(his, bill_id, *sns)["status"] == "refunded"
    body = view(service, headers, bill_id)
    assert body["status"] == "refunded"
    assert body["setlinfo"] is None


def test_nobody_else_sees_a_settled_bill_or_its_settlement(service, his):
    _, headers, bill_id, _ = story(service, his)
    pay(service, headers, bill_id)
    other, _ = service.enrol()
    theirs = login(service, other)
    response = service.client.get(f"/v1/bills/{bill_id}", headers=theirs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert service.client.get("/v1/me/bills", headers=theirs).json() == {"bills": []}


def test_a_family_manager_sees_the_settlement_of_a_relatives_bill_they_paid(service):
    family = make_family(service)
    mdtrt_id, charged = charge(family.his, family.relative.psn_no, "40.00")
    assert charged.status_code == 201, charged.text
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    paid = family.post(f"/v1/bills/{bill_id}/payments", family.manager_auth, {"wallet": "wechat"})
    assert paid.status_code == 201, paid.text
    answered = paid.json()["setlinfo"]

    assert view(service, family.manager_auth, bill_id)["setlinfo"] == answered
    relatives_bills = f"/v1/family/members/{family.relative.psn_no}/bills"
    assert listed(service, family.manager_auth, bill_id, relatives_bills)["setlinfo"] == answered
    assert view(service, family.relative_auth, bill_id)["setlinfo"] == answered


def test_the_openapi_document_shows_setlinfo_on_a_bill_and_in_the_list(service):
    schemas = service.client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("BillPublic", "BillSummaryPublic"):
        field = schemas[name]["properties"]["setlinfo"]
        assert {"$ref": "#/components/schemas/SetlInfoPublic"} in field["anyOf"], name
        assert {"type": "null"} in field["anyOf"], name
        assert field["examples"][0]["setl_id"].startswith("ST"), name
        assert "setlinfo" in schemas[name]["required"], name
