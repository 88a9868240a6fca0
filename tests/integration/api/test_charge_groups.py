"""Charge batches posted as a group (settlement.usecases.charging.groups): on SQLite and PostgreSQL.

Over HTTP every batch is a group of one unless requests overlap, so these tests build the groups
themselves and post them with ``post_fee_group``, the function the process's group commit runs.
A batch the group leaves must leave no trace; the HTTP call then posts it on its own.
"""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

from api.routes.his import render_fee_batch
from insurance.pricing import line_amount
from settlement.access.hospitals import get_hospital
from settlement.billing.tables import FeeLine
from settlement.foundation.idempotency import IdempotencyRecord, find_record
from settlement.ledger import chart
from settlement.ledger.ledger import balances
from settlement.ledger.tables import LedgerTransfer
from settlement.usecases.charging.groups import ChargeGroups, ChargeRequest, post_fee_group
from settlement.usecases.charging.visits import FeeRequest
from tests.races import run_together

REGISTRATION = "001101000010000"  # class A, price cap 1.00
EXAM = "002501000010000"
_serial = itertools.count(1)


def fees(service, *lines: tuple[str, str, str], sns: list[str] | None = None) -> list[FeeRequest]:
    now = service.clock.now()
    built = []
    for index, (code, pric, cnt) in enumerate(lines):
        sn = sns[index] if sns else f"G{next(_serial)}"
        built.append(
            FeeRequest(
                feedetl_sn=sn,
                med_list_codg=code,
                item_name="测试项目",
                pric=Decimal(pric),
                cnt=Decimal(cnt),
                det_item_fee_sumamt=line_amount(Decimal(pric), Decimal(cnt)),
                fee_ocur_time=now,
            )
        )
    return built


def charge(service, code: str, mdtrt_id: str, lines: list[FeeRequest], key: str | None = None):
    with service.container.uow() as uow:
        hospital = get_hospital(uow.session, code)
        assert hospital is not None
        uow.session.expunge(hospital)  # as the request's authenticated hospital is
    key = key or f"K{next(_serial)}"
    body = {"chrg_bchno": f"B{next(_serial)}", "fees": [_json(line) for line in lines]}
    return ChargeRequest(
        hospital=hospital,
        mdtrt_id=mdtrt_id,
        chrg_bchno=body["chrg_bchno"],
        fees=tuple(lines),
        scope=f"his:{code}",
        key=key,
        fingerprint=f"fp-{key}",
    )


def _json(line: FeeRequest) -> dict[str, Any]:
    return {name: str(value) for name, value in vars(line).items()}


def post_group(service, charges):
    with service.container.uow() as uow:
        return post_fee_group(
            uow, container=service.container, charges=charges, render=render_fee_batch
        )


def open_visit(service, code: str, psn_no: str) -> str:
    response = service.hospitals[code].open_visit(psn_no)
    assert response.status_code == 201, response.text
    return response.json()["mdtrt_id"]


def counts(service) -> tuple[int, int, int]:
    with service.container.uow() as uow:
        session = uow.session
        return (
            session.scalar(select(func.count()).select_from(FeeLine)) or 0,
            session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0,
            session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0,
        )


def line_available(service, psn_no: str) -> Decimal:
    with service.container.uow() as uow:
        code = chart.patient_line(psn_no)
        return balances(uow.session, [code])[code].available_debit


def test_a_group_posts_every_plain_batch_in_one_go_with_its_own_answer(service):
    zhang, zhang_line = service.enrol()
    li, li_line = service.enrol()
    zhang_h3 = open_visit(service, "H3", zhang.psn_no)
    zhang_h1 = open_visit(service, "H1", zhang.psn_no)  # one line, two hospitals
    li_h3 = open_visit(service, "H3", li.psn_no)
    before = counts(service)
    group = [
        charge(service, "H3", zhang_h3, fees(service, (REGISTRATION, "1.00", "1"))),
        charge(
            service, "H1", zhang_h1, fees(service, (EXAM, "30.00", "2"), (REGISTRATION, "1", "1"))
        ),
        charge(service, "H3", li_h3, fees(service, (EXAM, "12.34", "3"))),
    ]
    posted = post_group(service, group)
    assert all(p is not None for p in posted)
    # Each answer is the batch's, with the line as the group left it after that batch.
    by_visit = {p.result.visit.mdtrt_id: p for p in posted if p is not None}
    assert by_visit[li_h3].result.medfee_sumamt == Decimal("37.02")
    assert by_visit[li_h3].result.available == li_line - Decimal("37.02")
    first, second = sorted([zhang_h1, zhang_h3])  # the group goes in visit order
    spent = {zhang_h3: Decimal("1.00"), zhang_h1: Decimal("61.00")}
    assert by_visit[first].result.available == zhang_line - spent[first]
    assert by_visit[second].result.available == zhang_line - spent[first] - spent[second]
    assert line_available(service, zhang.psn_no) == zhang_line - Decimal("62.00")
    assert line_available(service, li.psn_no) == li_line - Decimal("37.02")
    # 4 lines, a hold each, and 3 answered keys.
    assert counts(service) == (before[0] + 4, before[1] + 4, before[2] + 3)
    # The stored answer is what was sent: a retry replays it (over HTTP: test_his_visits).
    for request, answer in zip(group, posted, strict=True):
        assert answer is not None
        with service.container.uow() as uow:
            record = find_record(uow.session, scope=request.scope, key=request.key)
            assert record is not None and record.status_code == 201
            assert record.response_body == answer.answer
        assert json.loads(answer.answer)["mdtrt_id"] == request.mdtrt_id
    visit = service.hospitals["H1"].get(f"/his/v1/visits/{zhang_h1}").json()
    assert [fee["status"] for fee in visit["fees"]] == ["held", "held"]


def test_a_group_leaves_every_batch_it_cannot_post_untouched(service):
    def enrolled_visit(code: str = "H3"):
        person, line = service.enrol()
        return person, line, open_visit(service, code, person.psn_no)

    def one(code: str, visit: str, key: str | None = None, **options: Any) -> ChargeRequest:
        return charge(service, code, visit, fees(service, (REGISTRATION, "1.00", "1")), key)

    zhang, zhang_line, plain = enrolled_visit()
    _, _, elsewhere = enrolled_visit()
    _, _, h1_visit = enrolled_visit("H1")
    _, _, h1_other = enrolled_visit("H1")
    poor, poor_line, short = enrolled_visit()
    _, _, repeated = enrolled_visit()
    taken_sn = service.hospitals["H3"].charge(repeated, (REGISTRATION, "1.00", "1")).json()
    taken_sn = taken_sn["fees"][0]["feedetl_sn"]
    _, _, closed = enrolled_visit()
    assert service.hospitals["H3"].post(f"/his/v1/visits/{closed}/close").status_code == 200
    lapsed, _, lapsed_visit = enrolled_visit()
    service.add_person(lapsed.psn_no, insutype="390")  # no longer employee insurance
    _, _, mismatch_visit = enrolled_visit()
    mismatched = fees(service, (REGISTRATION, "1.00", "1"))
    mismatched[0] = FeeRequest(**{**vars(mismatched[0]), "det_item_fee_sumamt": Decimal("2.00")})
    _, _, answered_visit = enrolled_visit()
    answered = one("H3", answered_visit)
    assert post_group(service, [answered])[0] is not None
    before = counts(service)
    over = f"{poor_line + Decimal('1.00')}"
    group = [
        one("H3", plain, key="same"),
        one("H3", plain),  # the same visit again: it waits for the group
        one("H3", elsewhere, key="same"),  # the same key of the same hospital
        one("H1", h1_visit, key="same"),  # the same key, but of another hospital
        one("H3", h1_other),  # another hospital's visit
        charge(service, "H3", short, fees(service, (EXAM, over, "1"))),  # over the line
        charge(service, "H3", repeated, fees(service, (EXAM, "1", "1"), sns=[taken_sn])),
        one("H3", closed),
        one("H3", plain.replace("MD", "MX")),  # no such visit
        one("H3", lapsed_visit),  # no longer eligible
        charge(service, "H3", mismatch_visit, mismatched),  # pric × cnt is not the amount
        one("H3", answered_visit, key=answered.key),  # a key already answered
    ]
    posted = post_group(service, group)
    # The group goes in visit order: the first batch of a visit, and of a key, is the one taken.
    # Either "same" goes with the plain visit, whose second batch then waits; or it goes with
    # the other visit, and the plain visit's second batch (its own key) is the one taken.
    first_three = [True, False, False] if plain < elsewhere else [False, True, True]
    assert [p is not None for p in posted] == [*first_three, True] + [False] * 8
    taken = sum(p is not None for p in posted)  # a line, a hold and a key each
    assert counts(service) == (before[0] + taken, before[1] + taken, before[2] + taken)
    assert line_available(service, zhang.psn_no) == zhang_line - Decimal("1.00")
    assert line_available(service, poor.psn_no) == poor_line
    # Each one left then gets its own answer over HTTP, as if no group had looked at it.
    his = service.hospitals["H3"]
    assert his.charge(short, (EXAM, over, "1")).json()["error"]["code"] == "insufficient_credit"
    assert his.charge(closed, (REGISTRATION, "1.00", "1")).json()["error"]["code"] == "visit_closed"
    assert his.charge(h1_other, (REGISTRATION, "1.00", "1")).json()["error"]["code"] == "not_found"
    lapsed_answer = his.charge(lapsed_visit, (REGISTRATION, "1.00", "1")).json()
    assert lapsed_answer["error"]["code"] == "not_eligible"


def test_a_group_that_posts_nothing_commits_nothing(service):
    poor, line = service.enrol()
    visit = open_visit(service, "H3", poor.psn_no)
    before = counts(service)
    group = [charge(service, "H3", visit, fees(service, (EXAM, f"{line + 1}", "1")))]
    assert post_group(service, group) == [None]
    assert counts(service) == before
    # Over HTTP the same batch then gets its refusal from the batch's own path.
    over = service.hospitals["H3"].charge(visit, (EXAM, f"{line + 1}", "1"))
    assert over.status_code == 402
    assert over.json()["error"]["code"] == "insufficient_credit"


def test_the_process_posts_through_its_group_commit_and_falls_back_alone(service):
    person, line = service.enrol()
    visit = open_visit(service, "H3", person.psn_no)
    groups: ChargeGroups = service.client.app.state.charge_groups  # type: ignore[attr-defined]
    before = groups.commit.stats.answered
    assert service.hospitals["H3"].charge(visit, (REGISTRATION, "1.00", "1")).status_code == 201
    assert groups.commit.stats.answered == before + 1
    refused = service.hospitals["H3"].charge(visit, (EXAM, f"{line}", "1"))
    assert refused.status_code == 402
    assert groups.commit.stats.answered == before + 1  # the refusal came from the batch alone


@pytest.mark.postgres
def test_concurrent_groups_post_exactly_what_fits_on_a_shared_line(service, postgres_only):
    """24 batches from 24 visits at two hospitals, all on one patient's line, sent at once from
    24 threads: the groups (in parallel transactions on PostgreSQL) never overspend the line, and
    with the batches they leave, posted alone, exactly what fits is accepted."""
    person, line = service.enrol()
    # Ten batches fit and leave about half a batch: enough for an eleventh batch's small first
    # line, not for its second, so a refused batch has had a line applied in memory first.
    amount = (line / Decimal("10.5")).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    small = (amount / 10).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    big = amount - small
    assert line - 10 * amount >= small and line - 10 * amount < amount
    batch = ((EXAM, f"{small}", "1"), (EXAM, f"{big}", "1"))
    visits = [(code, open_visit(service, code, person.psn_no)) for code in ["H3", "H1"] * 12]
    charges = [charge(service, code, visit, fees(service, *batch)) for code, visit in visits]
    groups = ChargeGroups(service.container, render_fee_batch, max_group=8)
    posted = run_together([partial(groups.post, request) for request in charges])
    assert groups.commit.stats.largest > 1  # the batches did meet in groups
    grouped = sum(p is not None for p in posted)
    assert 1 <= grouped <= 10
    assert line_available(service, person.psn_no) == line - grouped * amount
    # The batches the groups left are posted alone (as the route does): ten in all, no more.
    alone = [
        service.hospitals[code].charge(visit, *batch).status_code
        for (code, visit), p in zip(visits, posted, strict=True)
        if p is None
    ]
    assert grouped + alone.count(201) == 10
    assert set(alone) <= {201, 402}
    assert line_available(service, person.psn_no) == line - 10 * amount
