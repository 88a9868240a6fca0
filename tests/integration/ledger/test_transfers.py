"""The ledger's behaviour on a real database (SQLite by default, PostgreSQL in the CI's second pass)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from settlement.foundation.clock import AdjustableClock
from settlement.foundation.db import make_engine
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger import errors
from settlement.ledger._sql import _sqlite_lock_sql
from settlement.ledger.ledger import (
    TransferRequest,
    balances,
    create_transfer,
    create_transfers,
    get_account,
    get_transfer,
    open_account,
    pending_status,
    reverse,
)
from settlement.ledger.verify import verify_ledger
from tests.database import SqliteTemplate
from tests.integration.ledger.support import hold, ledger_snapshot, move, post, void

D = Decimal


@pytest.fixture
def ledger(uow_factory: UnitOfWorkFactory, clock: AdjustableClock) -> UnitOfWorkFactory:
    """A patient with a 100.00 credit line granted by the issuer, and a hospital to pay."""
    with uow_factory() as uow:
        open_account(uow.session, code="issuer", kind="issuer")
        open_account(
            uow.session, code="patient", kind="credit", debits_must_not_exceed_credits=True
        )
        open_account(uow.session, code="hospital", kind="hospital")
        create_transfer(uow.session, move("grant", "issuer", "patient", "100.00"), clock=clock)
        uow.commit()
    return uow_factory


def account(uow_factory: UnitOfWorkFactory, code: str) -> tuple[Decimal, ...]:
    with uow_factory() as uow:
        found = get_account(uow.session, code)
    return (found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted)


def test_opening_an_account_twice_returns_the_same_account(uow_factory):
    with uow_factory() as uow:
        first = open_account(uow.session, code="a", kind="credit")
        again = open_account(uow.session, code="a", kind="credit")
        uow.commit()
    assert first.id == again.id
    assert first.debits_posted == D("0.00")


def test_opening_an_existing_account_with_other_flags_is_refused(uow_factory):
    with uow_factory() as uow:
        open_account(uow.session, code="a", kind="credit")
        with pytest.raises(errors.ExistsWithDifferentContent):
            open_account(uow.session, code="a", kind="credit", debits_must_not_exceed_credits=True)


def test_a_single_phase_transfer_moves_posted_money(ledger, clock):
    with ledger() as uow:
        result = create_transfer(
            uow.session, move("t1", "patient", "hospital", "12.30"), clock=clock
        )
        uow.commit()
    assert result.status == "created"
    assert result.transfer is not None and result.transfer.amount == D("12.30")
    assert result.transfer.created_at == clock.now()
    assert account(ledger, "patient") == (D(0), D("12.30"), D(0), D("100.00"))
    assert account(ledger, "hospital") == (D(0), D(0), D(0), D("12.30"))


def test_a_hold_counts_against_the_limit_until_it_is_posted(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "60.00"), clock=clock)
        uow.commit()
    with ledger() as uow:
        assert get_account(uow.session, "patient").available_debit == D("40.00")
        with pytest.raises(errors.ExceedsCredits) as refused:
            create_transfer(uow.session, hold("h2", "patient", "hospital", "40.01"), clock=clock)
        assert refused.value.details["available"] == "40.00"
        create_transfer(uow.session, hold("h3", "patient", "hospital", "40.00"), clock=clock)
        uow.commit()
    assert account(ledger, "patient") == (D("100.00"), D(0), D(0), D("100.00"))


def test_posting_part_of_a_hold_posts_that_part_and_returns_the_rest(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "60.00"), clock=clock)
        result = create_transfer(uow.session, post("p1", "h1", "45.50"), clock=clock)
        uow.commit()
    assert result.transfer is not None and result.transfer.amount == D("45.50")
    assert account(ledger, "patient") == (D(0), D("45.50"), D(0), D("100.00"))
    assert account(ledger, "hospital") == (D(0), D(0), D(0), D("45.50"))
    with ledger() as uow:
        assert pending_status(uow.session, "h1") == "posted"


def test_posting_without_an_amount_posts_the_whole_hold(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "60.00"), clock=clock)
        result = create_transfer(uow.session, post("p1", "h1"), clock=clock)
        uow.commit()
    assert result.transfer is not None and result.transfer.amount == D("60.00")
    assert account(ledger, "patient") == (D(0), D("60.00"), D(0), D("100.00"))


def test_a_void_releases_the_whole_hold(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "60.00"), clock=clock)
        create_transfer(uow.session, void("v1", "h1"), clock=clock)
        uow.commit()
    assert account(ledger, "patient") == (D(0), D(0), D(0), D("100.00"))
    with ledger() as uow:
        assert pending_status(uow.session, "h1") == "voided"
        voided = get_transfer(uow.session, "v1")
    assert voided is not None and voided.amount == D("60.00")


def test_a_retry_with_the_same_id_and_content_returns_the_first_result_and_changes_nothing(
    ledger, clock
):
    with ledger() as uow:
        first = create_transfer(uow.session, hold("h1", "patient", "hospital", "7.00"), clock=clock)
        create_transfer(uow.session, post("p1", "h1"), clock=clock)
        uow.commit()
    before = ledger_snapshot(ledger)
    clock.advance(timedelta(hours=1))
    with ledger() as uow:
        again = create_transfer(uow.session, hold("h1", "patient", "hospital", "7.00"), clock=clock)
        post_again = create_transfer(uow.session, post("p1", "h1"), clock=clock)
        explicit = create_transfer(uow.session, post("p1", "h1", "7.00"), clock=clock)
        uow.commit()
    assert again.status == post_again.status == explicit.status == "exists"
    assert again.transfer == first.transfer
    assert ledger_snapshot(ledger) == before


@pytest.mark.parametrize(
    "changed",
    [
        hold("h1", "patient", "hospital", "7.01"),
        hold("h1", "hospital", "patient", "7.00"),
        hold("h1", "patient", "hospital", "7.00", reference="bill-2"),
        move("h1", "patient", "hospital", "7.00"),
        hold("h1", "patient", "nowhere", "7.00"),
    ],
    ids=["amount", "accounts", "reference", "kind", "unknown-account"],
)
def test_a_retry_with_the_same_id_and_other_content_is_refused(ledger, clock, changed):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "7.00"), clock=clock)
        uow.commit()
    before = ledger_snapshot(ledger)
    with ledger() as uow, pytest.raises(errors.ExistsWithDifferentContent) as refused:
        create_transfer(uow.session, changed, clock=clock)
    assert refused.value.code == "exists_with_different_content"
    assert ledger_snapshot(ledger) == before


def test_a_linked_batch_that_fails_applies_nothing_and_leaves_the_transaction_usable(ledger, clock):
    before = ledger_snapshot(ledger)
    batch = [
        hold("line-1", "patient", "hospital", "30.00"),
        hold("line-2", "patient", "hospital", "30.00"),
        hold("line-3", "patient", "hospital", "50.00"),  # 110.00 > the 100.00 line
    ]
    with ledger() as uow:
        with pytest.raises(errors.LinkedEventFailed) as refused:
            create_transfers(uow.session, batch, clock=clock)
        assert refused.value.index == 2
        assert isinstance(refused.value.error, errors.ExceedsCredits)
        assert refused.value.details == {"index": 2, "cause": "exceeds_credits"}
        create_transfer(uow.session, hold("other", "patient", "hospital", "1.00"), clock=clock)
        uow.commit()
    after = ledger_snapshot(ledger)
    assert after[1] == (*before[1], "other")
    assert account(ledger, "patient") == (D("1.00"), D(0), D(0), D("100.00"))


def test_a_linked_batch_applies_every_transfer_and_shares_a_batch_id(ledger, clock):
    batch = [
        hold("line-1", "patient", "hospital", "30.00"),
        hold("line-2", "patient", "hospital", "20.00"),
        post("bill-1", "line-1", "25.00"),
        void("cancel-2", "line-2"),
    ]
    with ledger() as uow:
        results = create_transfers(uow.session, batch, clock=clock)
        uow.commit()
    assert [r.status for r in results] == ["created"] * 4
    assert {r.transfer.batch_id for r in results if r.transfer} == {"line-1"}
    assert account(ledger, "patient") == (D(0), D("25.00"), D(0), D("100.00"))


def test_an_unlinked_batch_applies_what_it_can_and_reports_the_rest(ledger, clock):
    batch = [
        hold("a", "patient", "hospital", "30.00"),
        hold("b", "patient", "hospital", "90.00"),
        TransferRequest(id="c", debit_account="patient", credit_account="hospital", amount=1.5),  # type: ignore[arg-type]
        hold("d", "patient", "hospital", "70.00"),
    ]
    with ledger() as uow:
        results = create_transfers(uow.session, batch, clock=clock, linked=False)
        uow.commit()
    assert [r.status for r in results] == ["created", "failed", "failed", "created"]
    assert [r.error.code for r in results if r.error] == ["exceeds_credits", "invalid_amount"]
    assert results[2].id == "c"
    assert account(ledger, "patient") == (D("100.00"), D(0), D(0), D("100.00"))


def test_a_credit_limited_account_cannot_be_credited_beyond_its_debits(uow_factory, clock):
    with uow_factory() as uow:
        open_account(uow.session, code="bank", kind="bank")
        open_account(uow.session, code="refunds", kind="x", credits_must_not_exceed_debits=True)
        create_transfer(uow.session, move("in", "refunds", "bank", "10.00"), clock=clock)
        create_transfer(uow.session, hold("back-1", "bank", "refunds", "6.00"), clock=clock)
        with pytest.raises(errors.ExceedsDebits):
            create_transfer(uow.session, move("back-2", "bank", "refunds", "4.01"), clock=clock)
        create_transfer(uow.session, move("back-3", "bank", "refunds", "4.00"), clock=clock)
        uow.commit()
        assert verify_ledger(uow.session).ok


def test_accounts_can_be_named_by_id_as_well_as_by_code(ledger, clock):
    with ledger() as uow:
        ids = {
            code: found.id for code, found in balances(uow.session, ["patient", "hospital"]).items()
        }
        result = create_transfer(
            uow.session, move("t1", ids["patient"], ids["hospital"], "5.00"), clock=clock
        )
        again = create_transfer(uow.session, move("t1", "patient", "hospital", "5.00"), clock=clock)
        uow.commit()
    assert (result.status, again.status) == ("created", "exists")


def test_a_reversal_moves_the_posted_amount_back_once(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "30.00"), clock=clock)
        create_transfer(uow.session, post("p1", "h1", "20.00"), clock=clock)
        result = reverse(uow.session, original_id="p1", new_id="r1", clock=clock)
        again = reverse(uow.session, original_id="p1", new_id="r1", clock=clock)
        uow.commit()
    assert (result.status, again.status) == ("created", "exists")
    assert result.transfer is not None and result.transfer.reverses_id == "p1"
    assert account(ledger, "hospital") == (D(0), D("20.00"), D(0), D("20.00"))
    assert account(ledger, "patient") == (D(0), D("20.00"), D(0), D("120.00"))
    before = ledger_snapshot(ledger)
    with ledger() as uow:
        with pytest.raises(errors.AlreadyReversed):
            reverse(uow.session, original_id="p1", new_id="r2", clock=clock)
        with pytest.raises(errors.TransferNotReversible):
            reverse(uow.session, original_id="h1", new_id="r3", clock=clock)
        with pytest.raises(errors.TransferNotFound):
            reverse(uow.session, original_id="nothing", new_id="r4", clock=clock)
    assert ledger_snapshot(ledger) == before


def test_a_reversal_is_refused_when_it_would_break_a_limit(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, move("spend", "patient", "hospital", "80.00"), clock=clock)
        with pytest.raises(errors.ExceedsCredits):
            reverse(uow.session, original_id="grant", new_id="r1", clock=clock)


def test_nothing_is_kept_unless_the_caller_commits(ledger, clock):
    before = ledger_snapshot(ledger)
    with ledger() as uow:
        create_transfer(uow.session, move("t1", "patient", "hospital", "5.00"), clock=clock)
        open_account(uow.session, code="new", kind="x")
    assert ledger_snapshot(ledger) == before


@pytest.mark.parametrize(
    "statement",
    ["UPDATE ledger_transfers SET amount = 1", "DELETE FROM ledger_transfers"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_update_or_delete_a_transfer(ledger, statement):
    before = ledger_snapshot(ledger)
    with ledger() as uow, pytest.raises(DBAPIError, match="immutable"):
        uow.session.execute(text(statement))
    assert ledger_snapshot(ledger) == before


def test_the_ledger_never_updates_or_deletes_a_transfer(ledger, clock, engine):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lstrip().split(None, 1)[0].upper() + " " + statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with ledger() as uow:
            create_transfers(
                uow.session,
                [hold("h1", "patient", "hospital", "9.00"), hold("h2", "patient", "hospital", "1")],
                clock=clock,
            )
            create_transfer(uow.session, post("p1", "h1", "4.00"), clock=clock)
            create_transfer(uow.session, void("v2", "h2"), clock=clock)
            reverse(uow.session, original_id="p1", new_id="r1", clock=clock)
            uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    touching = [s for s in seen if "ledger_transfers" in s.split("WHERE")[0]]
    assert touching, "the workload should have written transfers"
    assert not [s for s in touching if s.startswith(("UPDATE", "DELETE"))]


@pytest.mark.ledger_tampered
def test_verify_says_balanced_after_a_workload_and_names_a_tampered_account(ledger, clock):
    with ledger() as uow:
        create_transfer(uow.session, hold("h1", "patient", "hospital", "30.00"), clock=clock)
        create_transfer(uow.session, hold("h2", "patient", "hospital", "30.00"), clock=clock)
        create_transfer(uow.session, post("p1", "h1", "10.00"), clock=clock)
        create_transfer(uow.session, void("v2", "h2"), clock=clock)
        create_transfer(uow.session, hold("h3", "patient", "hospital", "5.00"), clock=clock)
        reverse(uow.session, original_id="p1", new_id="r1", clock=clock)
        uow.commit()
    with ledger() as uow:
        report = verify_ledger(uow.session)
    assert report.ok, report.render()
    assert report.render().endswith("balanced")
    assert (report.accounts, report.transfers) == (3, 7)
    assert report.totals["debits_pending"] == report.totals["credits_pending"] == 500

    with ledger() as uow:
        uow.session.execute(
            text(
                "UPDATE ledger_accounts SET debits_posted = debits_posted + 1 WHERE code = 'hospital'"
            )
        )
        uow.commit()
    with ledger() as uow:
        report = verify_ledger(uow.session)
    assert not report.ok
    assert [p.code for p in report.problems] == ["hospital"]
    assert any("posted is not zero-sum" in p for p in report.ledger_problems)
    assert "NOT BALANCED" in report.render() and "hospital" in report.render()


@pytest.mark.parametrize(
    ("ids", "codes", "refs"), [(0, 2, 0), (2, 0, 0), (1, 1, 0), (0, 0, 1), (0, 2, 2)]
)
def test_sqlite_lock_reads_accounts_through_indexes_only(
    sqlite_template: SqliteTemplate, ids: int, codes: int, refs: int
) -> None:
    """A lock must not cost a pass over every account or transfer: a ledger grows to millions.

    On SQLite in both passes: the statement is SQLite's (PostgreSQL plans by its statistics).
    """
    engine = make_engine(sqlite_template.fresh_url())
    values = [1] * ids + ["code"] * codes + ["ref"] * (2 * refs)
    try:
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {_sqlite_lock_sql(ids, codes, refs)}", tuple(values)
            )
            steps = [row[3] for row in plan]
    finally:
        engine.dispose()
    assert steps, "no plan"
    assert not [step for step in steps if step.startswith("SCAN")], steps
