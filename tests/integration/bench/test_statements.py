"""The benchmarks' statement counter: every statement, the ledger's own driver cursor included."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine

from tests.bench.support.statements import StatementLog, Tally, purpose
from tests.harness import build_service
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("SAVEPOINT sa_savepoint_1", "SAVEPOINT"),
        (
            "SELECT bills.bill_id FROM bills WHERE bills.bill_id = %(id)s FOR UPDATE",
            "SELECT bills FOR UPDATE",
        ),
        ("SELECT a FROM bills FOR UPDATE SKIP LOCKED", "SELECT bills FOR UPDATE"),
        (
            "SELECT visits.mdtrt_id, (SELECT sum(fee_lines.x) FROM fee_lines WHERE fee_lines.m ="
            " visits.mdtrt_id) AS total FROM visits WHERE visits.mdtrt_id = %(m)s FOR UPDATE OF visits",
            "SELECT visits FOR UPDATE",
        ),
        (
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || %(key)s, 0))",
            "SELECT pg_advisory_xact_lock()",
        ),
        ("INSERT INTO x (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 1", "INSERT x"),
        ("UPDATE bills SET version=2 WHERE bills.bill_id = %(id)s", "UPDATE bills"),
        (
            "WITH inserted AS (INSERT INTO ledger_transfers (id) VALUES ($1) RETURNING id),"
            " counted AS (SELECT count(*) AS n FROM inserted) UPDATE ledger_accounts AS a SET x = 1",
            "WITH INSERT ledger_transfers + UPDATE ledger_accounts",
        ),
        ('COPY "outbox_messages" (a, b) FROM STDIN', "COPY outbox_messages"),
        # A lock inside a CTE or a subquery does not make the statement a SELECT … FOR UPDATE:
        # it is named by its top-level verb.
        (
            "WITH locked AS (SELECT id FROM ledger_accounts WHERE code IN ($1) ORDER BY id"
            " FOR UPDATE) SELECT a.id FROM ledger_accounts AS a JOIN locked ON locked.id = a.id",
            "SELECT ledger_accounts",
        ),
        (
            "SELECT credit_decisions.seq, (SELECT credit_lines.granted_fen FROM credit_lines"
            " WHERE credit_lines.psn_no = %(p)s FOR UPDATE) AS granted FROM credit_decisions",
            "SELECT credit_decisions",
        ),
        (
            "SELECT bills.bill_id FROM bills WHERE bills.bill_id IN (SELECT x FROM y) FOR UPDATE OF bills",
            "SELECT bills FOR UPDATE",
        ),
    ],
)
def test_a_statement_is_named_by_its_verb_and_main_table(sql: str, named: str):
    assert purpose(sql) == named


def test_tallies_subtract_and_divide_keeping_transaction_control_apart():
    log = StatementLog()
    for sql in ("BEGIN", "SELECT a FROM bills", "UPDATE bills SET a = 1", "COMMIT"):
        log.add(sql)
    before = log.snapshot()
    for sql in ("BEGIN", "SELECT a FROM bills", "SELECT a FROM sandbox_wallet_orders", "ROLLBACK"):
        log.add(sql)
    log.request()
    tally = log.snapshot().since(before)
    assert tally.counts == Counter(
        {"BEGIN": 1, "SELECT bills": 1, "SELECT sandbox_wallet_orders": 1, "ROLLBACK": 1}
    )
    assert (tally.statements, tally.transactions, tally.requests) == (2, 1, 1)
    assert tally.touching("sandbox_") == 1
    assert tally.per(2)["statements"] == 1.0
    assert Tally.from_json(tally.to_json()) == tally


def test_a_fee_batch_and_a_payment_are_counted_with_the_ledgers_own_statements(
    engine: Engine, statement_log: StatementLog
):
    """The ledger writes on the driver's cursor, past SQLAlchemy's events; the count has them."""
    service = build_service(engine)
    his = service.add_hospital("HCOUNT")
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    before = statement_log.snapshot()
    charged = his.charge(mdtrt_id, (AMOXICILLIN, "3.00", "1"), (HEALTH_ADVICE, "30", "1"))
    tally = statement_log.snapshot().since(before)

    assert charged.status_code == 201, charged.text
    ledger_write = (
        "WITH INSERT ledger_transfers + UPDATE ledger_accounts"
        if engine.dialect.name == "postgresql"
        else "INSERT ledger_transfers"
    )
    assert tally.counts[ledger_write] == 1, tally.counts
    assert tally.counts["INSERT fee_lines"] >= 1
    assert tally.counts["COMMIT"] >= 1
    assert tally.statements > 5
