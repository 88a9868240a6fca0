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

from credit.decision import Reason
from insurance.money import ZERO, from_fen, to_fen
from settlement import chart
from settlement.clock import Clock
from settlement.credit_service.service import CreditConfig, credit_standing
from settlement.family.standing import frozen_by_family
from settlement.ledger.ledger import Account, TransferRequest, create_transfers, open_account
from settlement.orm import Base, FenColumn, UTCDateTime


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


def sync_line(session: Session, *, psn_no: str, line: Decimal, clock: Clock) -> Decimal:
    """Grant or take back credit so the ledger's line approaches ``line``; returns the new grant."""
    row = session.execute(
        select(CreditLineRow).where(CreditLineRow.psn_no == psn_no).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None:
        row = CreditLineRow(psn_no=psn_no, granted_fen=0, updated_at=now)
        session.add(row)
        session.flush()
    account = line_account(session, psn_no)
    delta = to_fen(line) - row.granted_fen
    if delta < 0:
        delta = -min(-delta, max(to_fen(account.available_debit), 0))
    if delta == 0:
        return from_fen(row.granted_fen)
    grant, take_back = chart.SCHEME_CREDIT, chart.patient_line(psn_no)
    open_account(session, code=chart.SCHEME_CREDIT, kind="scheme")
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


@dataclass(frozen=True)
class CreditSummary:
    """What a patient, a family manager or the HIS sees of a line (the 1101 analogue)."""

    psn_no: str
    status: str
    credit_line: Decimal
    available: Decimal
    outstanding: Decimal
    on_hold: Decimal
    reasons: tuple[Reason, ...]
    scorecard_version: str


def credit_summary(
    session: Session,
    *,
    psn_no: str,
    config: CreditConfig,
    clock: Clock,
    freeze_shared_on_overdue: bool = True,
) -> CreditSummary:
    """The standing now and the ledger's balances; a line that is not usable has nothing available.

    An active line is shown ``frozen`` while a relative's overdue bill drew on it (family policy,
    ``[family] freeze_shared_on_overdue``).
    """
    standing = credit_standing(session, psn_no, config=config, clock=clock)
    balances = line_balances(session, psn_no)
    status = standing.status
    if status == "active" and freeze_shared_on_overdue and frozen_by_family(session, psn_no):
        status = "frozen"
    usable = status == "active"
    return CreditSummary(
        psn_no=psn_no,
        status=status,
        credit_line=standing.line,
        available=max(balances.available, ZERO) if usable else ZERO,
        outstanding=balances.outstanding,
        on_hold=balances.on_hold,
        reasons=standing.reasons,
        scorecard_version=standing.scorecard_version,
    )
