"""Real threads, each with its own connection, racing on the same accounts.

On PostgreSQL the row locks (taken in account-id order) must make the writers queue: a limited
account accepts exactly as many holds as fit, opposite-order writers never see a deadlock, and one
transfer id sent by many threads at once is created once. On SQLite writers are serialised by
``BEGIN IMMEDIATE``; the same holds race must still come out exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import Engine, text

from settlement.foundation.clock import AdjustableClock
from settlement.foundation.db import make_session_factory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger.errors import LedgerError
from settlement.ledger.ledger import (
    TransferRequest,
    create_transfer,
    create_transfers,
    get_account,
    open_account,
)
from settlement.ledger.verify import verify_ledger
from tests.integration.ledger.support import hold, move, post, transfer_count
from tests.races import run_together

WRITERS = 10


def race(
    engine: Engine, writers: int, work: Callable[[int, UnitOfWorkFactory], str]
) -> Counter[str]:
    """Run ``work(writer, uow_factory)`` in ``writers`` threads started together; count outcomes."""
    factory = UnitOfWorkFactory(make_session_factory(engine))
    return Counter(run_together([partial(work, n, factory) for n in range(writers)], timeout=120))


def attempt(
    factory: UnitOfWorkFactory, requests: list[TransferRequest], clock: AdjustableClock
) -> str:
    with factory() as uow:
        try:
            results = create_transfers(uow.session, requests, clock=clock)
        except LedgerError as refused:
            return refused.code
        uow.commit()
    return "+".join(sorted({result.status for result in results}))


def setup_credit_line(uow_factory: UnitOfWorkFactory, clock: AdjustableClock, line: str) -> None:
    with uow_factory() as uow:
        open_account(uow.session, code="issuer", kind="issuer")
        open_account(
            uow.session, code="patient", kind="credit", debits_must_not_exceed_credits=True
        )
        open_account(uow.session, code="hospital", kind="hospital")
        create_transfer(uow.session, move("grant", "issuer", "patient", line), clock=clock)
        uow.commit()


def holds_race(engine: Engine, uow_factory: UnitOfWorkFactory, clock: AdjustableClock) -> None:
    # 100.00 of credit, 10 writers × 5 holds of 3.00 = 150.00 asked: exactly 33 fit.
    setup_credit_line(uow_factory, clock, "100.00")

    def work(writer: int, factory: UnitOfWorkFactory) -> str:
        outcomes = [
            attempt(factory, [hold(f"h-{writer}-{n}", "patient", "hospital", "3.00")], clock)
            for n in range(5)
        ]
        return ",".join(outcomes)

    outcomes = race(engine, WRITERS, work)
    flat = Counter(o for line, times in outcomes.items() for o in line.split(",") * times)
    assert flat == {"created": 33, "exceeds_credits": 17}
    with uow_factory() as uow:
        patient = get_account(uow.session, "patient")
        assert patient.debits_pending == Decimal("99.00")
        assert verify_ledger(uow.session).ok


@pytest.mark.postgres
def test_many_writers_holding_on_one_limited_account_get_exactly_what_fits_on_postgres(
    postgres_only, engine, uow_factory, clock
):
    holds_race(engine, uow_factory, clock)


def test_many_writers_holding_on_one_limited_account_get_exactly_what_fits_on_any_backend(
    engine, uow_factory, clock
):
    # On SQLite (the first CI pass) the writers must serialise on BEGIN IMMEDIATE, not fail.
    holds_race(engine, uow_factory, clock)


@pytest.mark.postgres
def test_writers_moving_money_both_ways_between_two_accounts_never_see_a_deadlock(
    postgres_only, engine, uow_factory, clock
):
    with uow_factory() as uow:
        open_account(uow.session, code="a", kind="x")
        open_account(uow.session, code="b", kind="x")
        open_account(uow.session, code="c", kind="x")
        uow.commit()

    def work(writer: int, factory: UnitOfWorkFactory) -> str:
        # Even writers list the accounts a→b→c, odd ones c→b→a: without ordered locks this
        # deadlocks quickly.
        codes = ["a", "b", "c"] if writer % 2 == 0 else ["c", "b", "a"]
        outcomes = set()
        for n in range(20):
            batch = [
                move(f"w{writer}-{n}-1", codes[0], codes[1], "1.00"),
                move(f"w{writer}-{n}-2", codes[2], codes[1], "2.00"),
                move(f"w{writer}-{n}-3", codes[1], codes[0], "0.50"),
            ]
            outcomes.add(attempt(factory, batch, clock))
        return ",".join(sorted(outcomes))

    outcomes = race(engine, 8, work)
    assert outcomes == {"created": 8}
    with uow_factory() as uow:
        assert transfer_count(uow.session) == 8 * 20 * 3
        report = verify_ledger(uow.session)
        assert report.ok, report.render()


@pytest.mark.postgres
@pytest.mark.parametrize("same_accounts", [True, False], ids=["same-accounts", "other-accounts"])
def test_one_transfer_id_sent_by_many_threads_at_once_is_created_once(
    postgres_only, engine, uow_factory, clock, same_accounts
):
    with uow_factory() as uow:
        for code in ("a", "b", "c", "d"):
            open_account(uow.session, code=code, kind="x")
        uow.commit()

    def work(writer: int, factory: UnitOfWorkFactory) -> str:
        # Different accounts mean different locks, so only the unique index stands between
        # the writers: the loser must still see a clean answer, never an IntegrityError.
        debit, credit = ("a", "b") if same_accounts or writer % 2 == 0 else ("c", "d")
        return attempt(factory, [move("the-one", debit, credit, "5.00")], clock)

    outcomes = race(engine, WRITERS, work)
    assert outcomes["created"] == 1
    if same_accounts:
        assert outcomes == {"created": 1, "exists": WRITERS - 1}
    else:
        assert set(outcomes) <= {"created", "exists", "exists_with_different_content"}
        assert outcomes["exists_with_different_content"] >= 1
    with uow_factory() as uow:
        assert transfer_count(uow.session) == 1
        assert verify_ledger(uow.session).ok


@pytest.mark.postgres
def test_one_hold_posted_by_many_threads_under_different_ids_is_posted_once(
    postgres_only, engine, uow_factory, clock
):
    setup_credit_line(uow_factory, clock, "100.00")
    with uow_factory() as uow:
        create_transfer(uow.session, hold("h", "patient", "hospital", "80.00"), clock=clock)
        uow.commit()

    def work(writer: int, factory: UnitOfWorkFactory) -> str:
        return attempt(factory, [post(f"p-{writer}", "h", f"{writer + 1}.00")], clock)

    outcomes = race(engine, WRITERS, work)
    assert outcomes == {"created": 1, "pending_transfer_already_posted": WRITERS - 1}
    with uow_factory() as uow:
        assert get_account(uow.session, "patient").debits_pending == Decimal(0)
        assert verify_ledger(uow.session).ok


@pytest.mark.postgres
def test_writers_holding_and_posting_across_shared_accounts_all_succeed(
    postgres_only, engine, uow_factory, clock
):
    # Locked rows that another writer updated meanwhile are re-checked by PostgreSQL; the lock
    # statement must still return every one of them (a join under FOR UPDATE may drop them).
    with uow_factory() as uow:
        open_account(uow.session, code="issuer", kind="issuer")
        for hospital in range(3):
            open_account(uow.session, code=f"hospital:{hospital}", kind="hospital")
        for writer in range(8):
            open_account(
                uow.session,
                code=f"patient:{writer}",
                kind="credit",
                debits_must_not_exceed_credits=True,
            )
            create_transfer(
                uow.session,
                move(f"grant:{writer}", "issuer", f"patient:{writer}", "1000.00"),
                clock=clock,
            )
        uow.commit()

    def work(writer: int, factory: UnitOfWorkFactory) -> str:
        for n in range(25):
            with factory() as uow:
                hospital = f"hospital:{(writer + n) % 3}"
                create_transfer(
                    uow.session,
                    hold(f"h{writer}-{n}", f"patient:{writer}", hospital, "1.00"),
                    clock=clock,
                )
                create_transfer(uow.session, post(f"p{writer}-{n}", f"h{writer}-{n}"), clock=clock)
                uow.commit()
        return "done"

    assert race(engine, 8, work) == {"done": 8}
    with uow_factory() as uow:
        assert transfer_count(uow.session) == 8 + 8 * 25 * 2
        report = verify_ledger(uow.session)
        assert report.ok, report.render()
        assert report.totals["credits_posted"] == 8 * 100_000 + 8 * 25 * 100


@pytest.mark.postgres
def test_a_batch_that_waited_for_its_locks_sees_the_post_their_holder_committed_meanwhile(
    postgres_only, engine, uow_factory, clock
):
    """A batch's accounts are locked and its transfers read in one statement, as of its start:
    when it had to wait for a lock, their holder's writes (a post of the same hold under another
    id) are read again after the wait, so the batch is refused as a post of a posted hold, not
    taken for a lost race on an id its caller locked."""
    setup_credit_line(uow_factory, clock, "100.00")
    with uow_factory() as uow:
        open_account(uow.session, code="other", kind="x")
        create_transfer(uow.session, hold("h", "patient", "hospital", "80.00"), clock=clock)
        uow.commit()
    holder = uow_factory()
    with holder as first:
        create_transfer(first.session, post("p-first", "h"), clock=clock)
        waiter = first.session.connection().connection.driver_connection.info.backend_pid

        def second_batch() -> str:
            with uow_factory() as uow:
                batch = [post("p-second", "h"), move("m-second", "issuer", "other", "1.00")]
                try:
                    create_transfers(uow.session, batch, clock=clock, ids_locked=True)
                except LedgerError as refused:
                    return refused.code
                return "created"

        with ThreadPoolExecutor(max_workers=1) as pool:
            outcome = pool.submit(second_batch)
            with engine.connect() as watcher:
                blocked = text(
                    "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
                )
                while not watcher.execute(blocked, {"pid": waiter}).scalar_one():
                    assert not outcome.done(), outcome.result()
                    watcher.rollback()
            first.commit()
            refused = outcome.result(timeout=60)

    assert refused == "linked_event_failed"
    with uow_factory() as uow:
        assert get_account(uow.session, "patient").debits_pending == Decimal(0)
        assert transfer_count(uow.session) == 3  # the grant, the hold, its first post
        assert verify_ledger(uow.session).ok
