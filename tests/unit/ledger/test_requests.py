"""The ledger's checks that need no database, its error codes and its report."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from settlement.foundation.clock import AdjustableClock
from settlement.foundation.errors import ServiceError
from settlement.ledger import errors
from settlement.ledger.ledger import Account, TransferRequest, create_transfers
from settlement.ledger.verify import AccountProblem, LedgerReport


class NoDatabase:
    """A stand-in session that fails the test if anything reaches for the database."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was touched ({name}) for a request refused up front")


CLOCK = AdjustableClock(frozen_at=datetime(2026, 11, 23, tzinfo=UTC))


def refuse(request: TransferRequest) -> errors.LedgerError:
    with pytest.raises(errors.LedgerError) as refused:
        create_transfers(NoDatabase(), [request], clock=CLOCK)  # type: ignore[arg-type]
    return refused.value


@pytest.mark.parametrize(
    "amount",
    [
        1.0,
        0.1,
        float("nan"),
        Decimal("-0.01"),
        Decimal(0),
        Decimal("9999999.991"),
        Decimal("10000000"),
        Decimal("1.005"),
        Decimal("Infinity"),
        "abc",
        None,
        True,
    ],
)
def test_a_bad_amount_is_refused_as_invalid_amount_before_the_database_is_touched(amount):
    error = refuse(TransferRequest(id="t", debit_account="a", credit_account="b", amount=amount))
    assert isinstance(error, errors.InvalidAmount)
    assert error.code == "invalid_amount"


def test_the_largest_amount_the_contract_allows_passes_the_up_front_checks():
    with pytest.raises(AssertionError, match="database was touched"):
        create_transfers(
            NoDatabase(),  # type: ignore[arg-type]
            [
                TransferRequest(
                    id="t", debit_account="a", credit_account="b", amount=Decimal("9999999.99")
                )
            ],
            clock=CLOCK,
        )


@pytest.mark.parametrize(
    ("request_", "error_type"),
    [
        (
            TransferRequest(id="t", debit_account="a", credit_account="a", amount=Decimal(1)),
            errors.AccountsMustBeDifferent,
        ),
        (TransferRequest(id="t", debit_account="a", amount=Decimal(1)), errors.InvalidTransfer),
        (TransferRequest(id="t", kind="post_pending"), errors.InvalidTransfer),
        (TransferRequest(id="t", kind="void_pending", pending_id=""), errors.InvalidTransfer),
        (
            TransferRequest(
                id="t",
                kind="pending",
                pending_id="p",
                debit_account="a",
                credit_account="b",
                amount=Decimal(1),
            ),
            errors.InvalidTransfer,
        ),
        (
            TransferRequest(id="t", kind="post_pending", pending_id="p", reverses_id="x"),
            errors.InvalidTransfer,
        ),
        (
            TransferRequest(
                id="t", code="", debit_account="a", credit_account="b", amount=Decimal(1)
            ),
            errors.InvalidTransfer,
        ),
        (
            TransferRequest(
                id="t",
                reference="r" * 129,
                debit_account="a",
                credit_account="b",
                amount=Decimal(1),
            ),
            errors.InvalidTransfer,
        ),
        (
            TransferRequest(id="t", kind="post_pending", pending_id="p", amount=Decimal("-1")),
            errors.InvalidAmount,
        ),
    ],
)
def test_malformed_requests_are_refused_with_a_typed_error(request_, error_type):
    assert isinstance(refuse(request_), error_type)


def test_a_malformed_request_in_a_linked_batch_names_its_index():
    batch = [
        TransferRequest(id="ok", debit_account="a", credit_account="b", amount=Decimal(1)),
        TransferRequest(id="bad", debit_account="a", credit_account="b", amount=2.5),  # type: ignore[arg-type]
    ]
    with pytest.raises(errors.LinkedEventFailed) as refused:
        create_transfers(NoDatabase(), batch, clock=CLOCK)  # type: ignore[arg-type]
    assert refused.value.index == 1
    assert refused.value.error.code == "invalid_amount"
    assert refused.value.code == "linked_event_failed"
    assert "transfer 1" in refused.value.message


def test_an_empty_batch_does_nothing():
    assert create_transfers(NoDatabase(), [], clock=CLOCK) == []  # type: ignore[arg-type]


def test_every_ledger_error_has_its_own_stable_code_and_is_a_service_error():
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.LedgerError)
    ]
    codes = [cls.error_code for cls in classes if cls is not errors.LedgerError]
    assert len(codes) == len(set(codes))
    assert {
        "invalid_amount",
        "account_not_found",
        "exceeds_credits",
        "linked_event_failed",
        "pending_transfer_already_voided",
        "exists_with_different_content",
    } <= set(codes)
    assert all(issubclass(cls, ServiceError) for cls in classes)


def test_available_amounts_count_holds():
    account = Account(
        id=1,
        code="p",
        kind="credit",
        debits_must_not_exceed_credits=True,
        credits_must_not_exceed_debits=False,
        debits_pending=Decimal("30.00"),
        debits_posted=Decimal("20.00"),
        credits_pending=Decimal(0),
        credits_posted=Decimal("100.00"),
    )
    assert account.available_debit == Decimal("50.00")


def test_the_report_says_balanced_or_lists_every_problem():
    report = LedgerReport(
        accounts=2, transfers=3, totals={"debits_posted": 1230, "credits_posted": 1230}
    )
    assert report.ok
    assert report.render().splitlines()[-1] == "balanced"
    assert "debits posted 12.30" in report.render()
    report.problems.append(
        AccountProblem(7, "patient:1", "debits_posted is 1.00 but the transfers say 0.00")
    )
    report.ledger_problems.append("posted is not zero-sum")
    assert not report.ok
    text = report.render()
    assert "account 7 patient:1: debits_posted is 1.00" in text
    assert text.splitlines()[-1] == "NOT BALANCED: 2 problem(s)"
