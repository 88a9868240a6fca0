"""The API benchmark's honest write verifies a request as the HIS routes do, then writes once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.bench.support.served import HONEST_PATH, HonestBase, HonestFeeBatch, build_honest_app
from tests.bench.support.statements import StatementLog
from tests.e2e.server import fee_batch_body
from tests.harness import HisClient, build_service

PATH = HONEST_PATH.format(mdtrt_id="MDHONEST0001")


@pytest.fixture
def honest(engine: Engine) -> Iterator[HisClient]:
    """A hospital signing requests to the honest write, served over the test's database."""
    service = build_service(engine)
    signer = service.add_hospital("HHONEST")
    HonestBase.metadata.create_all(engine)
    try:
        with TestClient(build_honest_app(service.container)) as client:
            yield HisClient(client, signer.code, signer.secret, signer.clock)
    finally:
        HonestBase.metadata.drop_all(engine)


def stored(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(HonestFeeBatch)) or 0


def test_a_signed_batch_is_validated_and_stored_once_and_its_replay_refused(
    engine: Engine, honest: HisClient
):
    body = fee_batch_body("B1", 5, "0.01")
    answer = honest.post(PATH, body, nonce="n" * 32)
    replay = honest.post(PATH, body, nonce="n" * 32)

    assert answer.status_code == 201, answer.text
    assert answer.json()["chrg_bchno"] == "B1"
    assert [fee["feedetl_sn"] for fee in answer.json()["fees"]] == [f"B1-{n}" for n in range(5)]
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "nonce_reused"
    assert stored(engine) == 1


def test_a_forged_or_invalid_request_stores_nothing(engine: Engine, honest: HisClient):
    forged = HisClient(honest.client, honest.code, "not-the-secret", honest.clock)
    invalid = fee_batch_body("B2", 1, "0.01")
    invalid["fees"][0]["pric"] = "1.2.3"

    assert forged.post(PATH, fee_batch_body("B2", 5, "0.01")).json()["error"]["code"] == (
        "bad_signature"
    )
    refused = honest.post(PATH, invalid)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    assert stored(engine) == 0


def test_an_honest_write_is_its_nonce_then_one_insert_and_one_commit(
    engine: Engine, honest: HisClient, statement_log: StatementLog
):
    assert (
        honest.post(PATH, fee_batch_body("B3", 5, "0.01")).status_code == 201
    )  # learns the secret
    before = statement_log.snapshot()
    assert honest.post(PATH, fee_batch_body("B4", 5, "0.01")).status_code == 201
    tally = statement_log.snapshot().since(before)

    assert tally.counts["INSERT bench_honest_fee_batches"] == 1
    if engine.dialect.name == "postgresql":  # the nonce: one statement, committed on its own
        assert tally.counts == {
            "WITH INSERT request_nonces": 1,
            "BEGIN": 1,
            "INSERT bench_honest_fee_batches": 1,
            "COMMIT": 1,
        }
    else:
        assert tally.counts["INSERT request_nonces"] == 1
        assert tally.counts["COMMIT"] == 2
