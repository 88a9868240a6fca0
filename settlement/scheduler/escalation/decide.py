"""What the escalation sweep does, decided in pure code (no database).

Reporting an overdue bill to the credit platform is an outside call, so it goes intent first:
every bill due a report (overdue and unpaid ``escalate_after`` after ``overdue_at``, never
intended) gets its intent recorded and committed before anything is sent. Each intent is then
resolved: :func:`decide_reports` turns it into the report sent (with the ID number the insurance
platform knows for its patient) or, for a patient insurance no longer knows, into a skip;
:func:`decide_outcome` reads the platform's answer. An intent whose outcome was never recorded (a
crash, a timeout, a failed write after the call) is resolved on a later run the same way: the
same report sent again, which the platform refuses (``False``) if the first one reached it. A
bill is reported to the platform once, however often that happens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from settlement.foundation.ports import OverdueReport
from settlement.usecases.overdue.decide import DueBill, decide_escalation

UNKNOWN_PATIENT = "patient unknown to insurance"
#: What the platform's answer means for the intent: sent now, or sent by an earlier attempt.
REPORTED = "reported"
ALREADY_REPORTED = "already_reported"


@dataclass(frozen=True, slots=True)
class Intent:
    """A recorded intent to report ``bill``, made at ``intended_at`` (the report's time)."""

    bill: DueBill
    intended_at: datetime


@dataclass(frozen=True)
class ReportPlan:
    """Each intent as the report to send, or as a skip (its patient unknown to insurance)."""

    reports: tuple[tuple[DueBill, OverdueReport], ...]
    unknown: tuple[DueBill, ...]


def decide_reports(intents: Sequence[Intent], *, certnos: Mapping[str, str]) -> ReportPlan:
    """The report each intent sends (in order), from the ID numbers insurance knows by
    ``psn_no`` (:func:`~settlement.usecases.overdue.decide.decide_escalation`): what the
    patient owes now, at the intent's time."""
    known, unknown = decide_escalation([intent.bill for intent in intents], certnos=certnos)
    intended_at = {intent.bill.bill_id: intent.intended_at for intent in intents}
    reports = tuple(
        (
            item.bill,
            OverdueReport(
                psn_no=item.bill.psn_no,
                certno=item.certno,
                bill_id=item.bill.bill_id,
                amount=item.bill.amount,
                reported_at=intended_at[item.bill.bill_id],
            ),
        )
        for item in known
    )
    return ReportPlan(reports, tuple(unknown))


def decide_outcome(sent: bool) -> str:
    """The platform answered: ``True``, sent now; ``False``, it holds this bill's report already
    (an earlier attempt of the same intent reached it). Either way the bill is reported."""
    return REPORTED if sent else ALREADY_REPORTED
