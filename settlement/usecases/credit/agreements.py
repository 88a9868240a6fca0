"""Patients' sign-up and revocation: the agreement, the credit decision and the ledger's line.

The credit service records signatures and decisions; these use cases add what the patient calls
need around them (their repayment history in, the ledger line synced out) and never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit.decision import Decision
from insurance.money import ZERO, format_amount, to_fen
from settlement.billing.credit_line import line_balances, sync_line
from settlement.billing.credit_tables import AgreementSignatureRow
from settlement.billing.history import repayment_history
from settlement.billing.tables import Visit
from settlement.foundation.clock import Clock
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import CreditPlatform, InsurancePlatform
from settlement.foundation.scheme import SchemePolicy
from settlement.usecases.credit.decisions import CreditConfig, revoke_agreement, sign_agreement
from settlement.usecases.credit.summary import CreditSummary, credit_summary


class CreditContext(Protocol):
    """What signing up and revoking use: business time, the credit configuration, the scheme's
    family policy and the two platforms (the process's ``Container`` is one)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def credit_config(self) -> CreditConfig: ...

    @property
    def scheme(self) -> SchemePolicy: ...

    @property
    def insurance_platform(self) -> Callable[[Session], InsurancePlatform]: ...

    @property
    def credit_platform(self) -> Callable[[Session], CreditPlatform]: ...


@dataclass(frozen=True)
class SignUp:
    """A signed agreement: the decision it gave, the line as it stands, and the signature."""

    decision: Decision
    summary: CreditSummary
    signature: AgreementSignatureRow


@dataclass(frozen=True)
class Revocation:
    decision: Decision
    granted: Decimal
    revoked_at: datetime


def sign_up(
    session: Session,
    *,
    container: CreditContext,
    psn_no: str,
    certno: str,
    psn_name: str,
    version: int,
    autopay: str,
    channel: str,
    client_addr: str,
    user_agent: str,
    proxy_by_psn_no: str | None = None,
) -> SignUp:
    """Sign the agreement in force, then grant the decided line in the ledger.

    ``proxy_by_psn_no``: a family manager signing for a relative (recorded as proxy signing).
    """
    clock = container.clock
    decision = sign_agreement(
        session,
        config=container.credit_config,
        clock=clock,
        insurance=container.insurance_platform(session),
        credit=container.credit_platform(session),
        psn_no=psn_no,
        certno=certno,
        psn_name=psn_name,
        version=version,
        accept=True,
        autopay=autopay,
        channel=channel,
        client_addr=client_addr[:64],
        user_agent=user_agent[:400],
        history=repayment_history(session, psn_no=psn_no, now=clock.now()),
        has_family_manager=proxy_by_psn_no is not None,
        proxy_by_psn_no=proxy_by_psn_no,
    )
    sync_line(session, psn_no=psn_no, line=decision.line, clock=clock)
    signature = session.scalars(
        select(AgreementSignatureRow)
        .where(
            AgreementSignatureRow.psn_no == psn_no,
            AgreementSignatureRow.version == version,
            AgreementSignatureRow.revoked_at.is_(None),
        )
        .order_by(AgreementSignatureRow.id.desc())
        .limit(1)
    ).one()
    summary = credit_summary(
        session,
        psn_no=psn_no,
        config=container.credit_config,
        clock=clock,
        freeze_shared_on_overdue=container.scheme.family.freeze_shared_on_overdue,
    )
    return SignUp(decision=decision, summary=summary, signature=signature)


def revoke(session: Session, *, container: CreditContext, psn_no: str) -> Revocation:
    """Revoke the patient's agreement and take the line back; refused while anything is owed."""
    balances = line_balances(session, psn_no)
    owed = balances.outstanding + balances.on_hold
    open_visits = session.scalar(
        select(func.count()).where(Visit.psn_no == psn_no, Visit.status == "open")
    )
    if owed > 0 or open_visits:
        raise ServiceError(
            "outstanding_balance",
            "the agreement can be revoked only with no unpaid bill and no open visit",
            outstanding=format_amount(balances.outstanding),
            on_hold=format_amount(balances.on_hold),
            open_visits=open_visits or 0,
        )
    clock = container.clock
    decision = revoke_agreement(session, clock=clock, psn_no=psn_no, outstanding_fen=to_fen(owed))
    granted = sync_line(session, psn_no=psn_no, line=ZERO, clock=clock)
    return Revocation(decision=decision, granted=granted, revoked_at=clock.now())
