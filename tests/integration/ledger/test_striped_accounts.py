"""Shared accounts (the pooled fund, a wallet's clearing account) never make writers queue.

Such an account has no limit, so the ledger reads it without a lock and adds each batch's changes
to one of its stripes; its balance is its row plus its stripes, on every read and in
``shuxin ledger verify``. On PostgreSQL a writer on the fund must go ahead while another
writer's transaction on the same fund is still open: before stripes, the second waited for the
first to commit (every payment in the province queued on ``fund:pool``).
"""

from __future__ import annotations

import zlib
from collections import Counter
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import func, select, text

from settlement.foundation.clock import AdjustableClock
from settlement.foundation.db import make_session_factory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger import chart
from settlement.ledger.errors import ExistsWithDifferentContent, InvalidTransfer
from settlement.ledger.ledger import (
    ACCOUNT_STRIPES,
    balances,
    create_transfer,
    create_transfers,
    get_account,
    open_account,
)
from settlement.ledger.tables import STRIPES
from settlement.ledger.verify import verify_ledger
from tests.integration.ledger.support import hold, move, post
from tests.races import run_together


def open_fund_and_lines(uow_factory: UnitOfWorkFactory, lines: int) -> None:
    with uow_factory() as uow:
        fund = open_account(uow.session, code=chart.POOLED_FUND, kind="fund")
        assert fund.striped  # the chart's shared kinds are striped by default
        for n in range(lines):
            open_account(uow.session, code=f"line-{n}", kind="credit")
        uow.commit()


def ids_on_different_stripes() -> tuple[str, str]:
    first = "pay-0"
    second = next(
        f"pay-{n}"
        for n in range(1, 100)
        if zlib.crc32(f"pay-{n}".encode()) % STRIPES != zlib.crc32(first.encode()) % STRIPES
    )
    return first, second


@pytest.mark.postgres
def test_a_second_writer_on_the_fund_does_not_wait_for_the_first_to_commit(
    postgres_only, engine, uow_factory, clock
):
    open_fund_and_lines(uow_factory, 2)
    first_id, second_id = ids_on_different_stripes()
    with uow_factory() as first:
        create_transfer(first.session, move(first_id, "fund:pool", "line-0", "1.00"), clock=clock)
        # The first payment's transaction is still open. A lock wait would fail the second at
        # once instead of passing when the first commits.
        with uow_factory() as second:
            second.session.execute(text("SET LOCAL lock_timeout = '500ms'"))
            create_transfer(
                second.session, move(second_id, "fund:pool", "line-1", "2.00"), clock=clock
            )
            second.commit()
        first.commit()
    with uow_factory() as uow:
        fund = get_account(uow.session, "fund:pool")
        assert fund.debits_posted == Decimal("3.00")
        stripes = uow.session.execute(select(func.count()).select_from(ACCOUNT_STRIPES)).scalar()
        assert stripes == 2
        report = verify_ledger(uow.session)
        assert report.ok, report.render()


def test_many_writers_on_the_fund_add_up_exactly(engine, clock):
    factory = UnitOfWorkFactory(make_session_factory(engine))
    open_fund_and_lines(factory, 8)

    def pay(writer: int) -> str:
        outcomes = []
        for n in range(6):
            with factory() as uow:
                request = move(f"w{writer}-{n}", "fund:pool", f"line-{writer}", "0.01")
                outcomes.append(create_transfer(uow.session, request, clock=clock).status)
                uow.commit()
        return ",".join(outcomes)

    outcomes = run_together([partial(pay, writer) for writer in range(8)], timeout=120)
    assert Counter(",".join(outcomes).split(",")) == {"created": 48}
    with factory() as uow:
        found = balances(uow.session, ["fund:pool", "line-3"])
        assert found["fund:pool"].debits_posted == Decimal("0.48")
        assert found["line-3"].credits_posted == Decimal("0.06")
        report = verify_ledger(uow.session)
        assert report.ok, report.render()
        assert report.totals["debits_posted"] == report.totals["credits_posted"] == 48


def test_holds_and_posts_on_a_striped_account_keep_its_balances(uow_factory, clock):
    open_fund_and_lines(uow_factory, 1)
    with uow_factory() as uow:
        create_transfers(
            uow.session,
            [hold("h1", "fund:pool", "line-0", "5.00"), hold("h2", "fund:pool", "line-0", "7.00")],
            clock=clock,
        )
        uow.commit()
    with uow_factory() as uow:
        create_transfer(uow.session, post("p1", "h1", "3.00"), clock=clock)
        uow.commit()
    with uow_factory() as uow:
        fund = get_account(uow.session, "fund:pool")
        assert (fund.debits_pending, fund.debits_posted) == (Decimal("7.00"), Decimal("3.00"))
        # A retry of the post changes nothing, on the stripes too.
        assert create_transfer(uow.session, post("p1", "h1", "3.00"), clock=clock).status == (
            "exists"
        )
        uow.commit()
    with uow_factory() as uow:
        assert get_account(uow.session, "fund:pool").debits_posted == Decimal("3.00")
        assert verify_ledger(uow.session).ok


def test_a_striped_account_has_no_limit_and_keeps_its_kind_of_storage(uow_factory):
    with uow_factory() as uow:
        with pytest.raises(InvalidTransfer, match="no limit"):
            open_account(
                uow.session,
                code="capped",
                kind="fund",
                debits_must_not_exceed_credits=True,
                striped=True,
            )
        plain = open_account(uow.session, code="plain", kind="test")
        assert not plain.striped
        with pytest.raises(ExistsWithDifferentContent):
            open_account(uow.session, code="plain", kind="test", striped=True)
        # A limited account of a shared kind is not striped: its limit needs its row locked.
        limited = open_account(
            uow.session, code="limited", kind="fund", credits_must_not_exceed_debits=True
        )
        assert not limited.striped


@pytest.fixture
def clock() -> AdjustableClock:
    from datetime import UTC, datetime

    return AdjustableClock(frozen_at=datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
