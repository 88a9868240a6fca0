"""One charge path (issue 18 item 3): random sets of batches, with refusals, family sharing and
repeated ``feedetl_sn``, posted one at a time and as a group (the group's leftovers then posted on
their own, as the HTTP route does) give the same fee lines, ledger and answers.

Two worlds are built alike for each example (the same roles: two plain patients, one whose visit
is closed, a relative sharing a manager's line) and every id of a world is replaced by its role
before the worlds are compared. Each patient has one visit, so the order the group posts
different visits in cannot matter; batches of one visit keep their order on both paths.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api.routes.his import render_fee_batch
from insurance.pricing import line_amount
from settlement.access.hospitals import get_hospital
from settlement.billing.family_tables import SharedHold
from settlement.billing.tables import FeeLine
from settlement.foundation.errors import ServiceError
from settlement.ledger.tables import LedgerAccount, LedgerTransfer
from settlement.usecases.charging.groups import ChargeRequest, post_fee_group
from settlement.usecases.charging.visits import FeeRequest, post_fees
from tests.harness import Service
from tests.integration.family.support import make_family_quietly

HOSPITAL = "H001"
ITEMS = ("001101000010000", "002501000010000", "UNLISTED-ITEM")
ROLES = ("plain1", "plain2", "closed", "relative")
_world = itertools.count(1)

line_st = st.tuples(
    st.sampled_from(ITEMS),
    st.integers(min_value=1, max_value=9_000).map(lambda fen: f"{Decimal(fen) / 100:.2f}"),
    st.sampled_from(["1", "2", "0.5"]),
)
batch_st = st.fixed_dictionaries(
    {
        "role": st.sampled_from(ROLES),
        "lines": st.lists(line_st, min_size=1, max_size=3),
        # plain, a wrong amount, far beyond any line, a feedetl_sn of an earlier batch
        "twist": st.sampled_from(["plain", "plain", "mismatch", "huge", "repeat", "share"]),
    }
)


def build_world(service: Service) -> dict[str, str]:
    """The roles' ids in a new world: ``{role: psn_no, role + ":visit": mdtrt_id, …}``."""
    his, manager, relative = make_family_quietly(service)
    ids = {"relative": relative.psn_no, "manager": manager.psn_no}
    for role in ("plain1", "plain2", "closed"):
        person, _ = service.enrol()
        ids[role] = person.psn_no
    for role in ROLES:
        opened = his.open_visit(ids[role])
        assert opened.status_code == 201, opened.text
        ids[f"{role}:visit"] = opened.json()["mdtrt_id"]
    closed = his.post(f"/his/v1/visits/{ids['closed:visit']}/close")
    assert closed.status_code in (200, 201), closed.text
    return ids


def fee_requests(batches: list[dict[str, Any]], now: datetime) -> list[list[FeeRequest]]:
    """Each batch's lines, the same in both worlds but for their ``feedetl_sn`` prefix."""
    world = next(_world)
    built: list[list[FeeRequest]] = []
    for index, batch in enumerate(batches):
        lines = []
        for number, (code, pric, cnt) in enumerate(batch["lines"]):
            price, count = pric, cnt
            amount = line_amount(Decimal(pric), Decimal(cnt))
            if batch["twist"] == "mismatch" and number == 0:
                amount += Decimal("0.01")
            if batch["twist"] == "huge" and number == 0:
                price, amount = "99999.00", line_amount(Decimal("99999.00"), Decimal(cnt))
            if batch["twist"] == "share" and number == 0:
                price, count, amount = "950.00", "1", Decimal("950.00")  # beyond the own line
            sn = f"W{world}-{index}-{number}"
            if batch["twist"] == "repeat" and number == 0 and built:
                sn = built[-1][0].feedetl_sn  # may be another visit's: then it is new here
            lines.append(
                FeeRequest(sn, code, "测试项目", Decimal(price), Decimal(count), amount, now)
            )
        built.append(lines)
    return built


def post_one_at_a_time(service: Service, ids, batches, fees) -> list[str]:
    answers = []
    for batch, lines in zip(batches, fees, strict=True):
        answers.append(post_alone(service, ids[f"{batch['role']}:visit"], lines))
    return answers


def post_alone(service: Service, mdtrt_id: str, lines: list[FeeRequest]) -> str:
    with service.container.uow() as uow:
        hospital = get_hospital(uow.session, HOSPITAL)
        assert hospital is not None
        try:
            result = post_fees(
                uow,
                container=service.container,
                hospital=hospital,
                mdtrt_id=mdtrt_id,
                chrg_bchno="CB",
                fees=lines,
            )
        except ServiceError as refusal:
            return f"refused {refusal.code} {json.dumps(refusal.details, sort_keys=True)}"
        uow.commit()
        return render_fee_batch(result)


def post_as_a_group(service: Service, ids, batches, fees) -> list[str]:
    with service.container.uow() as uow:
        hospital = get_hospital(uow.session, HOSPITAL)
        assert hospital is not None
        uow.session.expunge(hospital)
    charges = [
        ChargeRequest(
            hospital=hospital,
            mdtrt_id=ids[f"{batch['role']}:visit"],
            chrg_bchno="CB",
            fees=tuple(lines),
            scope=f"his:{HOSPITAL}",
            key=f"{ids['plain1']}-{index}",
            fingerprint="fp",
        )
        for index, (batch, lines) in enumerate(zip(batches, fees, strict=True))
    ]
    with service.container.uow() as uow:
        grouped = post_fee_group(
            uow, container=service.container, charges=charges, render=render_fee_batch
        )
    answers = []
    for charge, posted in zip(charges, grouped, strict=True):
        if posted is None:  # left by the group: on its own, as the HTTP route does
            answers.append(post_alone(service, charge.mdtrt_id, list(charge.fees)))
        else:
            answers.append(posted.answer)
    return answers


def normalise(text: str, ids: dict[str, str], world_sns: str) -> str:
    for role, value in sorted(ids.items(), key=lambda item: -len(item[1])):
        text = text.replace(value, f"<{role}>")
    return text.replace(world_sns, "W")


def state(service: Service, ids: dict[str, str]) -> dict[str, Any]:
    """The world's fee lines, shared holds, transfers and line balances, by role."""
    visits = [ids[f"{role}:visit"] for role in ROLES]
    with service.container.uow() as uow:
        session = uow.session
        codes = dict(session.execute(select(LedgerAccount.id, LedgerAccount.code)).all())
        lines = [
            {
                column: str(getattr(row, column))
                for column in FeeLine.__table__.columns.keys()  # noqa: SIM118
                if column not in ("id", "posted_at", "changed_at")  # where and when each world was
            }
            for row in session.scalars(
                select(FeeLine).where(FeeLine.mdtrt_id.in_(visits)).order_by(FeeLine.feedetl_sn)
            )
        ]
        shared = [
            (row.transfer_id, row.feedetl_sn, row.manager_psn_no, row.amount_fen, row.rank)
            for row in session.scalars(select(SharedHold).where(SharedHold.mdtrt_id.in_(visits)))
        ]
        transfers = [
            (
                row.id,
                codes[row.debit_account_id],
                codes[row.credit_account_id],
                row.amount,
                row.kind,
                row.code,
            )
            for row in session.scalars(
                select(LedgerTransfer).where(LedgerTransfer.reference.in_(visits))
            )
        ]
        accounts = [
            (row.code, row.debits_pending, row.debits_posted, row.credits_posted)
            for row in session.scalars(
                select(LedgerAccount).where(
                    LedgerAccount.code.in_(
                        [f"patient:{ids[role]}:line" for role in (*ROLES, "manager")]
                    )
                )
            )
        ]
    return {"lines": lines, "shared": shared, "transfers": transfers, "accounts": accounts}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(batch_st, min_size=1, max_size=6))
# Every kind at once: a relative drawing on the manager, refusals of each kind, a repeated line.
@example(
    batches=[
        {"role": "plain1", "lines": [(ITEMS[1], "12.34", "2")], "twist": "plain"},
        {"role": "plain1", "lines": [(ITEMS[0], "1.00", "1")], "twist": "repeat"},
        {"role": "relative", "lines": [(ITEMS[2], "10.00", "1")], "twist": "share"},
        {"role": "plain2", "lines": [(ITEMS[2], "5.00", "1")], "twist": "mismatch"},
        {"role": "plain2", "lines": [(ITEMS[2], "5.00", "1")], "twist": "huge"},
        {"role": "closed", "lines": [(ITEMS[2], "5.00", "1")], "twist": "plain"},
        {"role": "relative", "lines": [(ITEMS[2], "7.00", "1")], "twist": "plain"},
    ]
)
def test_batches_posted_one_at_a_time_or_as_a_group_leave_the_same_rows_ledger_and_answers(
    service: Service, batches: list[dict[str, Any]]
) -> None:
    if HOSPITAL not in service.hospitals:
        service.add_hospital(HOSPITAL, level=3)
    worlds = []
    now = service.clock.now()
    for post in (post_one_at_a_time, post_as_a_group):
        ids = build_world(service)
        fees = fee_requests(batches, now)
        world_sns = fees[0][0].feedetl_sn.split("-")[0]
        answers = post(service, ids, batches, fees)
        normalised = normalise(json.dumps([answers, state(service, ids)]), ids, world_sns)
        answers_then, rows = json.loads(normalised)
        # Sorted once the ids are roles: the worlds' own ids sort differently.
        worlds.append(
            (answers_then, {name: sorted(items, key=json.dumps) for name, items in rows.items()})
        )
    alone, grouped = worlds
    assert grouped[0] == alone[0]  # the answers, refusals included
    assert grouped[1] == alone[1]  # fee lines, shared holds, transfers, line balances
