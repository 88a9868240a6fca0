"""Helpers for the ledger's tests: request builders and a snapshot of the whole ledger."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger.ledger import ACCOUNT_STRIPES, ACCOUNTS, TRANSFERS, TransferRequest


def snapshot(session: Session) -> tuple[object, ...]:
    """Every account's balances and every transfer id: equal snapshots mean nothing changed."""
    accounts = session.execute(
        select(
            ACCOUNTS.c.code,
            ACCOUNTS.c.debits_pending,
            ACCOUNTS.c.debits_posted,
            ACCOUNTS.c.credits_pending,
            ACCOUNTS.c.credits_posted,
        ).order_by(ACCOUNTS.c.id)
    ).all()
    stripes = session.execute(
        select(ACCOUNT_STRIPES).order_by(ACCOUNT_STRIPES.c.account_id, ACCOUNT_STRIPES.c.stripe)
    ).all()
    transfers = session.execute(select(TRANSFERS.c.id).order_by(TRANSFERS.c.id)).scalars().all()
    return (
        tuple(tuple(row) for row in accounts),
        tuple(transfers),
        tuple(tuple(row) for row in stripes),
    )


def ledger_snapshot(uow_factory: UnitOfWorkFactory) -> tuple[object, ...]:
    with uow_factory() as uow:
        return snapshot(uow.session)


def transfer_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(TRANSFERS)).scalar_one()


def hold(
    transfer_id: str, debit: str, credit: str, amount: str, **fields: object
) -> TransferRequest:
    return TransferRequest(
        id=transfer_id,
        kind="pending",
        debit_account=debit,
        credit_account=credit,
        amount=Decimal(amount),
        code="hold",
        **fields,  # type: ignore[arg-type]
    )


def move(
    transfer_id: str, debit: str, credit: str, amount: str, **fields: object
) -> TransferRequest:
    return TransferRequest(
        id=transfer_id,
        kind="single_phase",
        debit_account=debit,
        credit_account=credit,
        amount=Decimal(amount),
        **fields,  # type: ignore[arg-type]
    )


def post(transfer_id: str, pending_id: str, amount: str | None = None) -> TransferRequest:
    return TransferRequest(
        id=transfer_id,
        kind="post_pending",
        pending_id=pending_id,
        amount=None if amount is None else Decimal(amount),
        code="bill",
    )


def void(transfer_id: str, pending_id: str) -> TransferRequest:
    return TransferRequest(id=transfer_id, kind="void_pending", pending_id=pending_id, code="void")
