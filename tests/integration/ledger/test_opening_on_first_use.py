"""Accounts opened on first use: many at once (``open_accounts``), or only when a batch finds
them missing (``create_transfers(open_missing=…)``), and batches whose ids are fresh."""

from __future__ import annotations

from decimal import Decimal

import pytest

from settlement.foundation.clock import AdjustableClock
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger import errors
from settlement.ledger.accounts import open_accounts
from settlement.ledger.ledger import balances, create_transfers, get_account, open_account
from tests.integration.ledger.support import hold, ledger_snapshot, move, post

D = Decimal
SOURCES = {"fund": "fund", "acct": "insurance_account"}


@pytest.fixture
def ledger(uow_factory: UnitOfWorkFactory, clock: AdjustableClock) -> UnitOfWorkFactory:
    """A line the sources repay into: limited, so it is locked, not striped."""
    with uow_factory() as uow:
        open_account(uow.session, code="line", kind="credit_line")
        uow.commit()
    return uow_factory


def test_open_accounts_opens_those_missing_in_one_go_and_leaves_the_others(ledger):
    with ledger() as uow:
        open_accounts(uow.session, {"fund": "fund"})
        uow.commit()
    before = ledger_snapshot(ledger)
    with ledger() as uow:
        open_accounts(uow.session, {"fund": "fund", "acct": "insurance_account", "line": "x"})
        uow.commit()
        opened = balances(uow.session, ["fund", "acct", "line"])

    assert opened["fund"].striped and opened["fund"].kind == "fund"  # a shared kind: striped
    assert not opened["acct"].striped and opened["acct"].kind == "insurance_account"
    assert opened["line"].kind == "credit_line"  # already there: left as it was
    assert ledger_snapshot(ledger)[0][:2] == before[0][:2]  # the two earlier rows unchanged


def test_a_batch_opens_the_accounts_it_finds_missing_and_then_applies_whole(ledger, clock):
    with ledger() as uow:
        create_transfers(
            uow.session,
            [hold("h1", "fund", "line", "3.00"), hold("h2", "acct", "line", "2.00")],
            clock=clock,
            open_missing=SOURCES,
        )
        uow.commit()
        line = get_account(uow.session, "line")

    assert line.credits_pending == D("5.00")
    with ledger() as uow:
        assert {"fund", "acct"} <= set(balances(uow.session, ["fund", "acct"]))


def test_an_account_missing_that_it_may_not_open_still_refuses_the_batch_and_writes_nothing(
    ledger, clock
):
    before = ledger_snapshot(ledger)
    with ledger() as uow, pytest.raises(errors.LinkedEventFailed) as refused:
        create_transfers(
            uow.session,
            [hold("h1", "fund", "line", "3.00"), hold("h2", "stranger", "line", "2.00")],
            clock=clock,
            open_missing=SOURCES,
        )
    assert refused.value.error.code == "account_not_found"
    assert ledger_snapshot(ledger) == before


def test_fresh_ids_are_not_looked_up_and_need_the_callers_lock(ledger, clock):
    with ledger() as uow:
        open_accounts(uow.session, SOURCES)
        create_transfers(
            uow.session,
            [hold("s1:hifp", "fund", "line", "1.00"), hold("s1:acct", "acct", "line", "1.00")],
            clock=clock,
            ids_locked=True,
            fresh_ids=True,
        )
        uow.commit()
        assert get_account(uow.session, "line").credits_pending == D("2.00")
    with ledger() as uow, pytest.raises(ValueError, match="ids_locked"):
        create_transfers(
            uow.session, [move("m1", "fund", "line", "1")], clock=clock, fresh_ids=True
        )
    with ledger() as uow, pytest.raises(ValueError, match="name no other"):
        create_transfers(
            uow.session,
            [post("p1", "s1:hifp", "1.00"), post("p2", "s1:acct", "1.00")],
            clock=clock,
            ids_locked=True,
            fresh_ids=True,
        )
