"""What one settled payment (start + the wallet's callback) costs in SQL statements, pinned.

Counted at the driver, as the payments benchmark counts them (``tests/bench/support/
statements.py``: SQLAlchemy's ``checkout`` event sets SQLite's trace callback; psycopg's cursor on
PostgreSQL), because the ledger's statements run on the driver's own cursor, past
``before_cursor_execute``. Statements, not time: the figures do not depend on the machine's load.
A change that adds a statement to the payment path fails here; one that removes some lowers the
ceiling (issue 18: the target is 12).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from settlement.foundation import writes
from settlement.foundation.db import advisory_key
from settlement.usecases.paying import facts
from tests.bench.payments import settle
from tests.bench.support.statements import StatementLog, Tally
from tests.harness import build_service
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for

TRY_LOCK = text(f"SELECT pg_try_advisory_xact_lock({advisory_key(':key')})")
#: The most statements one settled payment may send, per backend (transaction control apart).
CEILING = {"postgresql": 15, "sqlite": 36}


def one_payment(engine: Engine, log: StatementLog) -> Tally:
    """The statements of a patient's first payment, as the benchmark pays: after another
    patient's, which opened the accounts every payment shares (the pooled fund, the wallet's)."""
    service = build_service(engine)
    his = service.add_hospital("HSTMT", level=3)
    bills = []
    for _ in range(2):
        person, _ = service.enrol(balc="100.00")
        bill_id, _ = bill_for(
            his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
        )
        bills.append((bill_id, person.psn_no))
    settle(service.container, *bills[0])
    before = log.snapshot()
    settle(service.container, *bills[1])
    return log.snapshot().since(before)


def test_a_settled_payment_sends_at_most_its_pinned_statements(
    engine: Engine, statement_log: StatementLog
):
    tally = one_payment(engine, statement_log)

    assert tally.transactions == 2  # start, then callback: one transaction each
    assert tally.statements <= CEILING[engine.dialect.name], tally.counts


def test_a_payment_opens_no_account_reads_the_decision_once_and_takes_no_savepoint(
    engine: Engine, statement_log: StatementLog
):
    """The cuts of issue 18: the patient's personal account was opened with their line and the
    shared ones by the first payment, so the batch finds them all (opening is tried only when
    one is missing); no SAVEPOINT (the bill's lock keeps the transfer ids); the new settlement's
    fresh transfer ids are not looked up; the credit decision is read once (its ``seq`` numbers
    the next)."""
    counts = one_payment(engine, statement_log).counts

    assert counts["INSERT ledger_accounts"] == 0, counts
    assert counts["SAVEPOINT"] == counts["RELEASE"] == 0, counts
    assert counts["SELECT ledger_transfers"] <= 1, counts  # the callback's posts name pendings
    assert counts["SELECT credit_decisions"] == 1, counts


def test_the_callback_reads_the_line_and_managers_with_the_decision_and_locks_in_its_write(
    engine: Engine, statement_log: StatementLog
):
    """The callback's credit event: the line's row (locked) and the patient's family managers
    are read with the decision, not each in a statement of its own; the patient's credit lock
    is taken in the settlement's write (PostgreSQL), so only the start's split lock is a
    statement of its own; the new decision and the notices go in one write (PostgreSQL)."""
    counts = one_payment(engine, statement_log).counts

    assert counts["SELECT credit_lines"] == counts["SELECT credit_lines FOR UPDATE"] == 0, counts
    assert counts["SELECT family_links"] == 0, counts
    if engine.dialect.name == "postgresql":
        assert counts["SELECT pg_advisory_xact_lock()"] == 1, counts
        assert counts["WITH INSERT credit_decisions + INSERT outbox"] == 1, counts


@pytest.mark.postgres
def test_the_combined_write_takes_the_advisory_lock_it_is_given_in_its_statement(
    engine: Engine, postgres_only: None, statement_log: StatementLog
):
    """``write_all(lock=…)`` (the callback's credit lock): the lock is held from the writes'
    statement on, another connection cannot take it, and no statement of its own is sent."""
    service = build_service(engine)
    his = service.add_hospital("HLOCK", level=3)
    bill_ids = []
    for _ in range(2):
        person, _ = service.enrol(balc="100.00")
        bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "30", "1"))
        bill_ids.append(bill_id)
    with service.container.uow() as uow:
        bills = [facts.lock_bill(uow.session, bill_id) for bill_id in bill_ids]
        before = statement_log.snapshot()
        writes.write_all(
            uow.session,
            [writes.updated(bill, due_at=bill.due_at) for bill in bills if bill is not None],
            lock="test:combined",
        )
        sent = statement_log.snapshot().since(before)
        with engine.connect() as other:
            taken = other.scalar(TRY_LOCK, {"key": "test:combined"})
            other.rollback()
    with engine.connect() as other:
        free = other.scalar(TRY_LOCK, {"key": "test:combined"})
        other.rollback()

    assert sent.statements == 1, sent.counts
    assert sent.counts["SELECT pg_advisory_xact_lock()"] == 0, sent.counts
    assert taken is False  # held by the writes' transaction
    assert free is True  # released with it
