"""Races over HTTP: a real server on the test run's PostgreSQL schema and 16 concurrent clients.

The server is a separate process with its own connection pool, so these are real concurrent
transactions, row locks and unique indexes, not threads sharing one session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from settlement.foundation.db import make_session_factory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger.verify import verify_ledger
from tests.e2e.server import (
    ServerProcess,
    SignedHis,
    World,
    fee_batch_body,
    postgres_schema_url,
    seed_world,
    start_app_server,
    visit_body,
)
from tests.races import run_together

CLIENTS = 16
BATCH = Decimal("30.00")  # three lines of 10.00


@pytest.fixture
def world(engine: Engine, postgres_only: Any) -> World:
    return seed_world(engine, hospitals=["H37140200001", "H37140200002"], patients=1)


@pytest.fixture
def server(world: World, postgres_only: Any, tmp_path: Path) -> Iterator[ServerProcess]:
    url = postgres_schema_url(postgres_only.url, postgres_only.schema)
    with start_app_server(tmp_path, database_url=url, settings=world.settings) as running:
        yield running


def his_clients(server: ServerProcess, world: World) -> list[SignedHis]:
    return [
        SignedHis(httpx.Client(base_url=server.base_url, timeout=30), h.code, h.secret)
        for h in world.hospitals
    ]


def race(count: int, send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Run ``send(i)`` for ``i`` in ``range(count)`` on 16 threads released at the same moment."""

    def worker(first: int) -> list[tuple[int, httpx.Response]]:
        return [(i, send(i)) for i in range(first, count, CLIENTS)]

    shares = run_together([partial(worker, n) for n in range(CLIENTS)], timeout=300)
    answers = dict(answer for share in shares for answer in share)
    return [answers[i] for i in range(count)]


def ledger_is_balanced(engine: Engine) -> None:
    with UnitOfWorkFactory(make_session_factory(engine))() as uow:
        report = verify_ledger(uow.session)
    assert report.ok, report.render()


@pytest.mark.postgres
def test_concurrent_charges_from_two_hospitals_accept_exactly_what_fits_the_line(
    engine, server, world
):
    psn_no, line = world.patients[0]
    hospitals = his_clients(server, world)
    visits = []
    for n in range(4):  # two visits at each hospital, all on the one line
        his = hospitals[n % 2]
        opened = his.request("POST", "/his/v1/visits", visit_body(psn_no, f"MZ-RACE-{n}"))
        assert opened.status_code == 201, opened.text
        visits.append((his, opened.json()["mdtrt_id"]))
    fits = int(line // BATCH)
    attempts = fits + 14

    def charge(i: int) -> httpx.Response:
        his, mdtrt_id = visits[i % len(visits)]
        body = fee_batch_body(f"B{i:03d}", 3, "10.00")
        return his.request("POST", f"/his/v1/visits/{mdtrt_id}/fees", body)

    answers = race(attempts, charge)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * fits + [402] * (attempts - fits), [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 402):
        error = refused.json()["error"]
        assert error["code"] == "insufficient_credit"
        assert Decimal(error["available"]) < BATCH
        assert error["requested"] == "30.00"
    credit = hospitals[1].request("GET", f"/his/v1/patients/{psn_no}/credit").json()
    assert Decimal(credit["on_hold"]) == fits * BATCH
    assert Decimal(credit["available"]) == line - fits * BATCH
    held = sum(
        Decimal(his.request("GET", f"/his/v1/visits/{mdtrt_id}").json()["medfee_sumamt"])
        for his, mdtrt_id in visits
    )
    assert held == fits * BATCH
    ledger_is_balanced(engine)


@pytest.mark.postgres
def test_the_same_idempotency_key_sent_by_16_clients_at_once_charges_once(engine, server, world):
    psn_no, line = world.patients[0]
    his = his_clients(server, world)[0]
    opened = his.request("POST", "/his/v1/visits", visit_body(psn_no, "MZ-IDEM-1"))
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    body = fee_batch_body("B-ONCE", 3, "10.00")

    answers = race(
        CLIENTS,
        lambda _: his.request(
            "POST", f"/his/v1/visits/{mdtrt_id}/fees", body, key="same-key-for-everyone"
        ),
    )

    succeeded = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert succeeded, [a.text for a in answers]
    assert all(a.status_code == 409 for a in refused), [a.text for a in refused]
    assert {a.json()["error"]["code"] for a in refused} <= {"idempotency_key_in_use"}
    assert len({a.text for a in succeeded}) == 1, "every 2xx answer is the first one"
    assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in succeeded) == 1
    visit = his.request("GET", f"/his/v1/visits/{mdtrt_id}").json()
    assert len(visit["fees"]) == 3
    credit = his.request("GET", f"/his/v1/patients/{psn_no}/credit").json()
    assert Decimal(credit["on_hold"]) == BATCH
    assert Decimal(credit["available"]) == line - BATCH
    ledger_is_balanced(engine)
