"""On PostgreSQL a group of charge batches records its batches' nonces itself, first, in one
statement, and commits them with the batches it posts (``api.auth.SignedHospital.nonce_claim``).

What must not change: a replay is refused ``401 nonce_reused`` whatever path its original took;
a batch the group leaves records its nonce on its own path, first thing, as every HIS request
does; a nonce verified under a secret rotated since is judged again on that path.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from settlement.access.nonces import NonceClaim, RequestNonce, record_nonce
from settlement.access.signing import new_nonce
from settlement.usecases.charging.groups import ChargeGroups
from tests.integration.api.test_charge_groups import (
    EXAM,
    REGISTRATION,
    charge,
    counts,
    fees,
    open_visit,
    post_group,
)

pytestmark = pytest.mark.postgres


def nonce_of(service, code: str) -> NonceClaim:
    """A fresh nonce of ``code``, verified under the hospital's current secret."""
    known = service.container.known_hospitals.get(code)
    assert known is not None  # the hospital has signed a request in this process already
    return NonceClaim(code, new_nonce(), service.clock.now(), known.secret_version)


def recorded(service, claim: NonceClaim) -> bool:
    with service.container.uow() as uow:
        found = uow.session.scalar(
            select(func.count())
            .select_from(RequestNonce)
            .where(
                RequestNonce.hospital_code == claim.hospital_code,
                RequestNonce.nonce == claim.nonce,
            )
        )
    return bool(found)


def with_nonce(request, claim: NonceClaim):
    return replace(request, nonce=claim)


def test_a_group_records_the_nonces_of_the_batches_it_posts_and_forgets_the_others(
    service, postgres_only
):
    person, line = service.enrol()
    posted_visit = open_visit(service, "H3", person.psn_no)
    refused_visit = open_visit(service, "H3", person.psn_no)
    good, bad = nonce_of(service, "H3"), nonce_of(service, "H3")
    group = [
        with_nonce(charge(service, "H3", posted_visit, fees(service, (EXAM, "1.00", "1"))), good),
        with_nonce(
            charge(service, "H3", refused_visit, fees(service, (EXAM, f"{line + 1}", "1"))), bad
        ),
    ]
    posted = post_group(service, group)
    assert posted[0] is not None and posted[1] is None
    assert recorded(service, good)
    assert not recorded(service, bad)  # its own path records it, first thing


def test_a_nonce_seen_before_leaves_its_batch_untouched(service, postgres_only):
    person, _ = service.enrol()
    visit = open_visit(service, "H3", person.psn_no)
    claim = nonce_of(service, "H3")
    with service.container.uow() as uow:
        assert record_nonce(
            uow.session, hospital_code="H3", nonce=claim.nonce, now=service.clock.now()
        )
        uow.commit()
    before = counts(service)
    request = with_nonce(charge(service, "H3", visit, fees(service, (EXAM, "1.00", "1"))), claim)
    assert post_group(service, [request]) == [None]
    assert counts(service) == before  # no line, no hold, no claimed key


def test_a_nonce_twice_in_one_group_is_recorded_for_one_batch_only(service, postgres_only):
    person, _ = service.enrol()
    visits = [open_visit(service, "H3", person.psn_no) for _ in range(2)]
    claim = nonce_of(service, "H3")
    group = [
        with_nonce(charge(service, "H3", visit, fees(service, (EXAM, "1.00", "1"))), claim)
        for visit in visits
    ]
    posted = post_group(service, group)
    assert sum(p is not None for p in posted) == 1
    assert recorded(service, claim)


def test_a_nonce_verified_under_a_rotated_secret_is_not_kept(service, postgres_only):
    person, _ = service.enrol()
    visits = [open_visit(service, "H3", person.psn_no) for _ in range(2)]
    current, stale = nonce_of(service, "H3"), nonce_of(service, "H3")
    stale = replace(stale, secret_version=stale.secret_version + 1)
    group = [
        with_nonce(charge(service, "H3", visits[0], fees(service, (EXAM, "1.00", "1"))), current),
        with_nonce(charge(service, "H3", visits[1], fees(service, (EXAM, "1.00", "1"))), stale),
    ]
    posted = post_group(service, group)
    assert posted[0] is not None and posted[1] is None
    assert recorded(service, current) and not recorded(service, stale)


def test_over_http_a_grouped_batch_and_a_refused_one_both_refuse_their_replay(
    service, postgres_only
):
    person, line = service.enrol()
    his = service.hospitals["H3"]
    visit = open_visit(service, "H3", person.psn_no)  # H3 is known to the process from here
    groups: ChargeGroups = service.client.app.state.charge_groups  # type: ignore[attr-defined]
    for price in ("1.00", f"{line + 1}"):
        body = {
            "chrg_bchno": f"B{uuid.uuid4().hex[:8]}",
            "fees": [
                {
                    "feedetl_sn": f"F{uuid.uuid4().hex[:8]}",
                    "med_list_codg": REGISTRATION if price == "1.00" else EXAM,
                    "item_name": "测试项目",
                    "pric": price,
                    "cnt": "1",
                    "det_item_fee_sumamt": price,
                    "fee_ocur_time": service.clock.now().isoformat(),
                }
            ],
        }
        same = {"raw": json.dumps(body).encode(), "nonce": new_nonce(), "key": uuid.uuid4().hex}
        before = groups.commit.stats.answered
        first = his.request("POST", f"/his/v1/visits/{visit}/fees", **same)
        assert first.status_code == (201 if price == "1.00" else 402), first.text
        assert groups.commit.stats.answered == before + (price == "1.00")
        replay = his.request("POST", f"/his/v1/visits/{visit}/fees", **same)
        assert replay.status_code == 401, replay.text
        assert replay.json()["error"]["code"] == "nonce_reused"
