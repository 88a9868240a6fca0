"""Bad input: each a clear, typed error with a stable code, and the ledger unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from settlement.ledger import errors
from settlement.ledger.ledger import (
    TransferRequest,
    create_transfer,
    create_transfers,
    open_account,
)
from settlement.ledger.verify import verify_ledger
from tests.integration.ledger.support import hold, ledger_snapshot, move, post, void


@pytest.fixture
def ledger(uow_factory, clock):
    """A patient with a 100.00 line, a hold h1 of 40.00, a voided hold h2 and a posted hold h3."""
    with uow_factory() as uow:
        open_account(uow.session, code="issuer", kind="issuer")
        open_account(
            uow.session, code="patient", kind="credit", debits_must_not_exceed_credits=True
        )
        open_account(uow.session, code="hospital", kind="hospital")
        create_transfers(
            uow.session,
            [
                move("grant", "issuer", "patient", "100.00"),
                hold("h1", "patient", "hospital", "40.00"),
                hold("h2", "patient", "hospital", "10.00"),
                void("v2", "h2"),
                hold("h3", "patient", "hospital", "10.00"),
                post("p3", "h3"),
            ],
            clock=clock,
        )
        uow.commit()
    return uow_factory


def amount_request(amount: object) -> TransferRequest:
    return TransferRequest(
        id="bad",
        kind="pending",
        debit_account="patient",
        credit_account="hospital",
        amount=amount,  # type: ignore[arg-type]
    )


BAD_REQUESTS = [
    (amount_request(12.5), errors.InvalidAmount, "float"),
    (amount_request(0.1), errors.InvalidAmount, "float"),
    (amount_request(Decimal("-1.00")), errors.InvalidAmount, "negative"),
    (amount_request(Decimal("0")), errors.InvalidAmount, "zero"),
    (amount_request(None), errors.InvalidAmount, "missing"),
    (amount_request(Decimal("10000000.00")), errors.InvalidAmount, "over-limit"),
    (amount_request(Decimal("1.001")), errors.InvalidAmount, "sub-fen"),
    (amount_request(Decimal("NaN")), errors.InvalidAmount, "nan"),
    (amount_request(True), errors.InvalidAmount, "bool"),
    (hold("bad", "patient", "nobody", "1.00"), errors.AccountNotFound, "unknown-credit"),
    (hold("bad", "nobody", "hospital", "1.00"), errors.AccountNotFound, "unknown-debit"),
    (hold("bad", "patient", "patient", "1.00"), errors.AccountsMustBeDifferent, "same-account"),
    (hold("bad", "patient", "hospital", "50.01"), errors.ExceedsCredits, "over-credit-line"),
    (post("bad", "h1", "40.01"), errors.ExceedsPendingTransferAmount, "post-too-much"),
    (post("bad", "nothing"), errors.PendingTransferNotFound, "post-unknown"),
    (post("bad", "grant"), errors.PendingTransferNotPending, "post-single-phase"),
    (void("bad", "h2"), errors.PendingTransferAlreadyVoided, "void-twice"),
    (post("bad", "h2"), errors.PendingTransferAlreadyVoided, "post-after-void"),
    (post("bad", "h3"), errors.PendingTransferAlreadyPosted, "post-twice"),
    (void("bad", "h3"), errors.PendingTransferAlreadyPosted, "void-after-post"),
    (
        TransferRequest(id="bad", kind="void_pending", pending_id="h1", amount=Decimal("1.00")),
        errors.InvalidAmount,
        "void-part",
    ),
    (
        TransferRequest(id="bad", kind="post_pending", pending_id="h1", debit_account="issuer"),
        errors.PendingTransferHasDifferentAccounts,
        "post-other-accounts",
    ),
    (TransferRequest(id="bad", kind="post_pending"), errors.InvalidTransfer, "post-no-pending"),
    (TransferRequest(id="", amount=Decimal(1)), errors.InvalidTransfer, "empty-id"),
    (TransferRequest(id="x" * 129, amount=Decimal(1)), errors.InvalidTransfer, "long-id"),
    (
        TransferRequest(id="bad", kind="refund", amount=Decimal(1)),  # type: ignore[arg-type]
        errors.InvalidTransfer,
        "unknown-kind",
    ),
    (
        TransferRequest(id="bad", debit_account="patient", amount=Decimal(1)),
        errors.InvalidTransfer,
        "one-account",
    ),
    (
        hold("h1", "patient", "hospital", "40.00", reference="x"),
        errors.ExistsWithDifferentContent,
        "reuse-id",
    ),
]


@pytest.mark.parametrize(
    ("request_", "error_type"),
    [case[:2] for case in BAD_REQUESTS],
    ids=[case[2] for case in BAD_REQUESTS],
)
def test_bad_input_is_a_typed_error_and_the_ledger_is_unchanged(
    ledger, clock, request_, error_type
):
    before = ledger_snapshot(ledger)
    with ledger() as uow:
        with pytest.raises(error_type) as refused:
            create_transfer(uow.session, request_, clock=clock)
        assert refused.value.code == error_type.error_code
        assert refused.value.message
        uow.commit()  # committing after a refusal must still change nothing
    assert ledger_snapshot(ledger) == before
    with ledger() as uow:
        assert verify_ledger(uow.session).ok


@pytest.mark.parametrize(
    ("request_", "error_type"),
    [case[:2] for case in BAD_REQUESTS],
    ids=[case[2] for case in BAD_REQUESTS],
)
def test_bad_input_inside_a_linked_batch_fails_the_whole_batch(ledger, clock, request_, error_type):
    before = ledger_snapshot(ledger)
    batch = [
        hold("good-1", "patient", "hospital", "1.00"),
        request_,
        move("good-2", "issuer", "hospital", "1.00"),
    ]
    with ledger() as uow:
        with pytest.raises(errors.LinkedEventFailed) as refused:
            create_transfers(uow.session, batch, clock=clock)
        assert refused.value.index == 1
        assert isinstance(refused.value.error, error_type)
        uow.commit()
    assert ledger_snapshot(ledger) == before
