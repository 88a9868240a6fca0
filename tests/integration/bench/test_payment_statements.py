"""What one settled payment (start + the wallet's callback) costs in SQL statements, pinned.

Counted at the driver, as the payments benchmark counts them (``tests/bench/support/
statements.py``: SQLAlchemy's ``checkout`` event sets SQLite's trace callback; psycopg's cursor on
PostgreSQL), because the ledger's statements run on the driver's own cursor, past
``before_cursor_execute``. Statements, not time: the figures do not depend on the machine's load.
A change that adds a statement to the payment path fails here; one that removes some lowers the
ceiling (issue 18: the target is 12).
"""

from __future__ import annotations

from sqlalchemy import Engine

from tests.bench.payments import settle
from tests.bench.support.statements import StatementLog, Tally
from tests.harness import build_service
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for

#: The most statements one settled payment may send, per backend (transaction control apart).
CEILING = {"postgresql": 38, "sqlite": 45}


def one_payment(engine: Engine, log: StatementLog) -> Tally:
    service = build_service(engine)
    his = service.add_hospital("HSTMT", level=3)
    person, _ = service.enrol(balc="100.00")
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))
    before = log.snapshot()
    settle(service.container, bill_id, person.psn_no)
    return log.snapshot().since(before)


def test_a_settled_payment_sends_at_most_its_pinned_statements(
    engine: Engine, statement_log: StatementLog
):
    tally = one_payment(engine, statement_log)

    assert tally.transactions == 2  # start, then callback: one transaction each
    assert tally.statements <= CEILING[engine.dialect.name], tally.counts


def test_a_payment_opens_its_accounts_at_once_and_reads_the_decision_once_without_savepoints(
    engine: Engine, statement_log: StatementLog
):
    """The cuts of issue 18: one INSERT … ON CONFLICT DO NOTHING for all the payment's ledger
    accounts (none read back), no SAVEPOINT (the bill's lock keeps the transfer ids), and the
    credit decision read once (its ``seq`` numbers the next)."""
    counts = one_payment(engine, statement_log).counts

    assert counts["INSERT ledger_accounts"] <= 1, counts
    assert counts["SELECT ledger_accounts"] <= 2, counts  # the ledger's own reads of the batches
    assert counts["SAVEPOINT"] == counts["RELEASE"] == 0, counts
    assert counts["SELECT credit_decisions"] == 1, counts
