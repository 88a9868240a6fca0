"""The patient's credit line in the ledger, and what they may still spend.

The latest credit decision says what the line *should* be; ``credit_lines.granted_fen`` says what
the ledger has granted. :func:`sync_line` moves the ledger to the decision. A lower line can only be
taken back from what is unused: the rest is taken back by a later sync (after repayment), so the
ledger's limit is never breached.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from insurance.money import ZERO, from_fen, to_fen
from settlement.foundation.clock import Clock
from settlement.foundation.orm import Base, FenColumn, UTCDateTime
from settlement.ledger import chart
from settlement.ledger.accounts import open_accounts
from settlement.ledger.ledger import Account, TransferRequest, create_transfers, open_account


class CreditLineRow(Base):
    __tablename__ = "credit_lines"

    psn_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class LineBalances:
    """The ledger's view of one patient's line, in yuan."""

    granted: Decimal
    outstanding: Decimal
    on_hold: Decimal
    available: Decimal


def line_account(session: Session, psn_no: str) -> Account:
    """The patient's line account, opened on first use."""
    return open_account(
        session,
        code=chart.patient_line(psn_no),
        kind="credit_line",
        debits_must_not_exceed_credits=True,
    )


def line_balances(session: Session, psn_no: str) -> LineBalances:
    """Granted, outstanding (billed, unpaid), on hold (open visits) and available credit."""
    account = line_account(session, psn_no)
    row = session.get(CreditLineRow, psn_no)
    granted = from_fen(row.granted_fen) if row is not None else ZERO
    repaid_and_granted = account.credits_posted
    outstanding = account.debits_posted - (repaid_and_granted - granted)
    return LineBalances(
        granted=granted,
        outstanding=outstanding,
        on_hold=account.debits_pending,
        available=account.available_debit,
    )


def sync_line(
    session: Session,
    *,
    psn_no: str,
    line: Decimal,
    clock: Clock,
    granted_fen: int | None = None,
) -> Decimal:
    """Grant or take back credit so the ledger's line approaches ``line``; returns the new grant.

    ``granted_fen``: the grant of the line's row, when the caller read it locked (in this
    transaction, under the patient's credit lock): a line already at ``line`` is then left
    without another statement."""
    if granted_fen is not None and to_fen(line) == granted_fen:
        return from_fen(granted_fen)
    row = session.execute(
        select(CreditLineRow).where(CreditLineRow.psn_no == psn_no).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None:
        row = CreditLineRow(psn_no=psn_no, granted_fen=0, updated_at=now)
        session.add(row)
        session.flush()
        line_account(session, psn_no)  # opened with the row, so a grant finds it
        # The personal account repayments draw on, opened with the line (a payment would
        # otherwise open it, one statement more, on the patient's first).
        open_accounts(session, {chart.patient_insurance_account(psn_no): "insurance_account"})
    delta = to_fen(line) - row.granted_fen
    if delta < 0:
        # Only what is unused can be taken back: the line's balance is read for that alone.
        available = line_account(session, psn_no).available_debit
        delta = -min(-delta, max(to_fen(available), 0))
    if delta == 0:
        return from_fen(row.granted_fen)
    grant, take_back = chart.SCHEME_CREDIT, chart.patient_line(psn_no)
    open_accounts(session, {chart.SCHEME_CREDIT: "scheme"})
    create_transfers(
        session,
        [
            TransferRequest(
                id=f"line:{psn_no}:{secrets.token_hex(8)}",
                debit_account=grant if delta > 0 else take_back,
                credit_account=take_back if delta > 0 else grant,
                amount=from_fen(abs(delta)),
                code="line_grant" if delta > 0 else "line_reduce",
                reference=psn_no,
            )
        ],
        clock=clock,
    )
    row.granted_fen += delta
    row.updated_at = now
    return from_fen(row.granted_fen)
