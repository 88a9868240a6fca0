"""What a patient, a family manager or the HIS sees of a credit line (the 1101 analogue)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from credit.decision import Reason, ineligibility
from insurance.money import ZERO
from settlement.billing.credit_line import line_balances
from settlement.billing.family_standing import frozen_by_family
from settlement.foundation.clock import Clock
from settlement.foundation.ports import CreditPlatform, PersonRecord
from settlement.usecases.credit.decisions import CreditConfig, credit_standing

#: Shown first while a relative's overdue bill that drew on this line freezes it.
RELATIVE_OVERDUE = Reason(
    "relative_overdue",
    "您管理的亲属有逾期未还的账单（曾使用您的信用额度），您的额度已冻结，该账单还清后即恢复",
    "A bill of a relative you manage, which used your credit line, is overdue: your line is "
    "frozen until that bill is paid",
)


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
    freeze_shared_on_overdue: bool,
    ineligible: tuple[Reason, ...] = (),
) -> CreditSummary:
    """The standing now and the ledger's balances; a line that is not usable has nothing available.

    An active line is shown ``frozen`` while a relative's overdue bill drew on it (family policy,
    ``[family] freeze_shared_on_overdue``). ``ineligible``: why the platforms' records exclude
    the person now (:func:`platform_ineligibility`); then the status is ``not_eligible`` with
    those reasons and no line, signed or not, whatever was decided at signing.
    """
    standing = credit_standing(session, psn_no, config=config, clock=clock)
    balances = line_balances(session, psn_no)
    status, reasons = standing.status, standing.reasons
    if status == "active" and freeze_shared_on_overdue and frozen_by_family(session, psn_no):
        status, reasons = "frozen", (RELATIVE_OVERDUE, *reasons)
    line = standing.line
    if ineligible:
        status, line, reasons = "not_eligible", ZERO, ineligible
    usable = status == "active"
    return CreditSummary(
        psn_no=psn_no,
        status=status,
        credit_line=line,
        available=max(balances.available, ZERO) if usable else ZERO,
        outstanding=balances.outstanding,
        on_hold=balances.on_hold,
        reasons=reasons,
        scorecard_version=standing.scorecard_version,
    )


def platform_ineligibility(person: PersonRecord, credit: CreditPlatform) -> tuple[Reason, ...]:
    """The hard rules the insurance record and the credit platform's report break now (resident
    insurance, insurance not active, the dishonest-debtor list): a person who breaks one can
    never use credit, so signing is not what they lack. A person the credit platform does not
    know is not taken for a dishonest debtor (signing would refuse them with its own message)."""
    report = credit.rating(person.certno)
    return ineligibility(
        insutype=person.insutype,
        insured_active=person.insured_active,
        dishonest=report is not None and report.dishonest,
    )
