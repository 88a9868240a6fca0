"""Credit use cases: sign and revoke the agreement, record credit events, explain a decision.

Every function takes the caller's session and flushes; the caller's unit of work commits once.
The clock, the configuration and the platforms are passed in as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal, get_args

from sqlalchemy.orm import Session

from credit.agreement import Agreements, AgreementText, load_agreements
from credit.decision import CreditInputs, Decision, Reason, RepaymentHistory, decide
from credit.events import CreditEvent, EventPolicy, apply_event, load_event_policy
from credit.identity import IdentityError, age_on, names_match, validate_certno
from credit.scorecard import Scorecard, load_scorecard
from insurance.money import format_amount
from settlement.billing.credit_records import CreditRepository, decision_row, to_decision
from settlement.billing.credit_tables import AgreementSignatureRow
from settlement.billing.history import decision_facts
from settlement.foundation.clock import Clock
from settlement.foundation.ports import CreditPlatform, InsurancePlatform, PersonRecord
from settlement.foundation.writes import Write, added
from settlement.usecases.credit.errors import CreditServiceError

Autopay = Literal["off", "on_close", "before_deadline"]
ADULT_AGE = 18

NOT_SIGNED = Reason("not_signed", "尚未签署信用就医服务协议", "The service agreement is not signed")
NEW_VERSION = Reason(
    "agreement_new_version",
    "服务协议已更新，请重新签署",
    "A new version of the service agreement must be signed",
)
REVOKED = Reason("agreement_revoked", "已解除信用就医服务协议", "The service agreement was revoked")


@dataclass(frozen=True, slots=True)
class CreditConfig:
    """The scorecard, the events policy and the agreement texts, loaded once at start-up."""

    scorecard: Scorecard
    policy: EventPolicy
    agreements: Agreements


def load_credit_config(seeds_dir: Path) -> CreditConfig:
    """Read ``credit/scorecard.toml``, ``credit/events.toml`` and ``agreements/`` under seeds."""
    return CreditConfig(
        scorecard=load_scorecard(seeds_dir / "credit" / "scorecard.toml"),
        policy=load_event_policy(seeds_dir / "credit" / "events.toml"),
        agreements=load_agreements(seeds_dir / "agreements"),
    )


def current_agreement(*, config: CreditConfig, clock: Clock) -> AgreementText:
    """The agreement version in force now."""
    return config.agreements.current(clock.now().date())


def sign_agreement(
    session: Session,
    *,
    config: CreditConfig,
    clock: Clock,
    insurance: InsurancePlatform,
    credit: CreditPlatform,
    psn_no: str,
    certno: str,
    psn_name: str,
    version: int,
    accept: bool,
    autopay: str,
    channel: str,
    client_addr: str,
    user_agent: str,
    history: RepaymentHistory,
    has_family_manager: bool = False,
    proxy_by_psn_no: str | None = None,
) -> Decision:
    """Sign the agreement in force after checking identity; returns the credit decision."""
    now = clock.now()
    today = now.date()
    if accept is not True:
        raise CreditServiceError("not_accepted", "the agreement must be accepted to sign")
    if autopay not in get_args(Autopay):
        raise CreditServiceError(
            "validation_error", f"autopay must be one of {', '.join(get_args(Autopay))}"
        )
    try:
        certno = validate_certno(certno, today=today)
    except IdentityError as error:
        raise CreditServiceError("invalid_certno", error.message, reason=error.code) from None
    agreement = config.agreements.current(today)
    if version != agreement.version:
        raise CreditServiceError(
            "version_mismatch",
            f"version {version} is not the agreement in force (version {agreement.version})",
            current_version=agreement.version,
        )
    person = insurance.lookup_person(psn_no)
    if person is None:
        raise CreditServiceError("patient_not_found", f"no insured person {psn_no}")
    if person.certno.upper() != certno or not names_match(psn_name, person.psn_name):
        # One message for both, so the answer does not reveal which of the two was right.
        raise CreditServiceError(
            "identity_mismatch", "the name or identity number does not match the insurance record"
        )

    repository = CreditRepository(session)
    repository.lock_patient(psn_no)
    signatures = repository.active_signatures(psn_no)
    latest = repository.latest_decision(psn_no)
    if any(s.version == agreement.version for s in signatures) and latest is not None:
        return latest  # signing the same version again changes nothing
    repository.add_signature(
        AgreementSignatureRow(
            psn_no=psn_no,
            version=agreement.version,
            text_sha256=agreement.sha256,
            signed_at=now,
            channel=channel,
            client_addr=client_addr,
            user_agent=user_agent,
            autopay=autopay,
            proxy_by_psn_no=proxy_by_psn_no,
        )
    )
    if signatures and latest is not None and latest.status != "not_signed":
        return latest  # re-signing a new version keeps the standing events have shaped

    inputs = _score_inputs(
        person,
        credit,
        today=today,
        history=history,
        has_family_manager=has_family_manager,
        suspended_until=latest.suspended_until if latest else None,
    )
    decision = decide(inputs, config.scorecard, today=today).with_changes(event="signed")
    repository.append_decision(psn_no, decision, decided_at=now)
    return decision


def _score_inputs(
    person: PersonRecord,
    credit: CreditPlatform,
    *,
    today: date,
    history: RepaymentHistory,
    has_family_manager: bool,
    suspended_until: date | None,
) -> CreditInputs:
    report = credit.rating(person.certno)
    if report is None:
        raise CreditServiceError(
            "credit_report_unavailable", "the credit platform has no record of this person"
        )
    return CreditInputs(
        insutype=person.insutype,
        insured_active=person.insured_active,
        dishonest=report.dishonest,
        rating=report.rating,
        contribution_months=report.contribution_months,
        psn_type=person.psn_type,
        is_adult=age_on(person.certno, today) >= ADULT_AGE,
        has_family_manager=has_family_manager,
        history=history,
        suspended_until=suspended_until,
    )


def preview_decision(
    *,
    config: CreditConfig,
    clock: Clock,
    insurance: InsurancePlatform,
    credit: CreditPlatform,
    psn_no: str,
    history: RepaymentHistory,
    has_family_manager: bool = False,
) -> Decision:
    """The decision signing now would give, recorded nowhere (for explaining unsigned patients)."""
    person = insurance.lookup_person(psn_no)
    if person is None:
        raise CreditServiceError("patient_not_found", f"no insured person {psn_no}")
    today = clock.now().date()
    inputs = _score_inputs(
        person,
        credit,
        today=today,
        history=history,
        has_family_manager=has_family_manager,
        suspended_until=None,
    )
    return decide(inputs, config.scorecard, today=today).with_changes(event="preview")


def signature_in_force(session: Session, psn_no: str, current_version: int) -> bool:
    """Whether the patient has signed ``current_version`` and not revoked it."""
    return CreditRepository(session).has_active_signature(psn_no, current_version)


def current_decision(session: Session, psn_no: str) -> Decision | None:
    """The latest recorded decision, or ``None`` if there never was one."""
    return CreditRepository(session).latest_decision(psn_no)


def credit_standing(
    session: Session, psn_no: str, *, config: CreditConfig, clock: Clock
) -> Decision:
    """The decision that applies now: ``not_signed`` without a signature of the version in
    force, a lapsed suspension lifted, otherwise the latest decision."""
    today = clock.now().date()
    version = config.agreements.current(today).version
    found = CreditRepository(session).latest_decision_and_signature(psn_no, version)
    return _standing(found, config, today)


def credit_standings(
    session: Session, psn_nos: Collection[str], *, config: CreditConfig, clock: Clock
) -> dict[str, Decision]:
    """:func:`credit_standing` of several patients, read in one statement."""
    today = clock.now().date()
    version = config.agreements.current(today).version
    found = CreditRepository(session).latest_decisions_and_signatures(psn_nos, version)
    return {psn_no: _standing(found.get(psn_no), config, today) for psn_no in psn_nos}


def _standing(found: tuple[Decision, bool] | None, config: CreditConfig, today: date) -> Decision:
    if found is None:
        return _not_signed(None, config, today, NOT_SIGNED)
    latest, signed = found
    if latest.status == "not_signed":
        return _not_signed(latest, config, today, NOT_SIGNED)
    if not signed:
        return _not_signed(latest, config, today, NEW_VERSION)
    status = latest.status_on(today)
    return latest if status == latest.status else latest.with_changes(status=status)


def _not_signed(
    latest: Decision | None, config: CreditConfig, today: date, reason: Reason
) -> Decision:
    if latest is not None:
        return latest.with_changes(status="not_signed", reasons=(reason,))
    return Decision(
        status="not_signed",
        line=Decimal(0),
        score=None,
        reasons=(reason,),
        scorecard_version=config.scorecard.version,
        inputs={},
        as_of=today,
        event="none",
    )


def revoke_agreement(
    session: Session, *, clock: Clock, psn_no: str, outstanding_fen: int
) -> Decision:
    """Revoke every signature of the patient; refused while anything is outstanding."""
    if outstanding_fen > 0:
        raise CreditServiceError(
            "outstanding_balance",
            "the agreement can be revoked only when nothing is outstanding",
            outstanding_fen=outstanding_fen,
        )
    now = clock.now()
    repository = CreditRepository(session)
    repository.lock_patient(psn_no)
    signatures = repository.active_signatures(psn_no)
    latest = repository.latest_decision(psn_no)
    if not signatures or latest is None:
        raise CreditServiceError("not_signed", "there is no signed agreement to revoke")
    for signature in signatures:
        signature.revoked_at = now
    decision = latest.with_changes(
        status="not_signed", reasons=(REVOKED,), as_of=now.date(), event="revoked"
    )
    repository.append_decision(psn_no, decision, decided_at=now)
    return decision


def record_event(
    session: Session,
    *,
    config: CreditConfig,
    clock: Clock,
    psn_no: str,
    event: CreditEvent,
    history: RepaymentHistory,
) -> Decision:
    """Apply a credit event to the patient's latest decision and record the new decision."""
    moved = record_event_if_decided(
        session, config=config, clock=clock, psn_no=psn_no, event=event, history=lambda: history
    )
    if moved is None:
        raise CreditServiceError("not_signed", f"{psn_no} has no credit decision to update")
    return moved[1]


def record_event_if_decided(
    session: Session,
    *,
    config: CreditConfig,
    clock: Clock,
    psn_no: str,
    event: CreditEvent,
    history: Callable[[], RepaymentHistory],
) -> tuple[Decision, Decision] | None:
    """:func:`record_event` for a patient who may never have had a decision: ``None`` then, and
    nothing recorded; else the decision before and the one recorded.

    Under the patient's lock the latest decision is read once (its ``seq`` numbers the next);
    ``history`` is asked for only when there is a decision to move.
    """
    now = clock.now()
    repository = CreditRepository(session)
    repository.lock_patient(psn_no)
    row = repository.latest_decision_row(psn_no)
    if row is None:
        return None
    previous = to_decision(row)
    decision = apply_event(
        previous, event, policy=config.policy, history=history(), today=now.date()
    )
    repository.append_decision(psn_no, decision, decided_at=now, seq=row.seq + 1)
    return previous, decision


@dataclass(frozen=True)
class RecordedEvent:
    """A credit event decided (:func:`decide_repayment_event`): the decision before and after,
    the ledger's grant of the patient's line, locked (``None``: no line yet), and the patient's
    active family managers, oldest link first."""

    before: Decision
    after: Decision
    granted_fen: int | None
    managers: list[str]


def decide_repayment_event(
    session: Session,
    *,
    config: CreditConfig,
    clock: Clock,
    psn_no: str,
    event: CreditEvent,
    writes: list[Write],
    locked: bool = False,
) -> RecordedEvent | None:
    """:func:`record_event_if_decided` with the history computed from the patient's bills, for
    a settled payment: the latest decision, the bills, the line (locked) and the managers read
    in one statement (``settlement.billing.history.decision_facts``); the new decision is not
    written here but added to ``writes``, which the caller sends with its own. ``locked``: the
    caller already holds the patient's credit lock (``credit_records.credit_lock_key``).
    ``None`` when there never was a decision: nothing to record."""
    now = clock.now()
    if not locked:
        CreditRepository(session).lock_patient(psn_no)
    found = decision_facts(session, psn_no=psn_no, now=now)
    if found is None:
        return None
    previous = to_decision(found.latest)
    decision = apply_event(
        previous, event, policy=config.policy, history=found.history, today=now.date()
    )
    row = decision_row(psn_no, decision, decided_at=now, seq=found.latest.seq + 1)
    writes.append(added(row))
    return RecordedEvent(previous, decision, found.granted_fen, found.managers)


STATUS_TEXT = {
    "active": ("可用", "active"),
    "frozen": ("已冻结", "frozen"),
    "not_eligible": ("不符合条件", "not eligible"),
    "suspended": ("暂停", "suspended"),
    "not_signed": ("未签约", "not signed"),
}


def explain(
    session: Session,
    psn_no: str,
    *,
    today: date | None = None,
    preview: Decision | None = None,
) -> str:
    """A readable, multi-line account of the patient's latest decision and its reasons.

    Without a recorded decision, ``preview`` (from :func:`preview_decision`) is shown instead, as
    what signing would give.
    """
    repository = CreditRepository(session)
    row = repository.latest_decision_row(psn_no)
    unsigned = f"{psn_no}: no credit decision (agreement not signed) / 无信用决定（未签约）"
    if row is None and preview is None:
        return unsigned
    decision = to_decision(row) if row is not None else preview
    assert decision is not None
    status = decision.status_on(today) if today else decision.status
    zh, en = STATUS_TEXT[status]
    if row is None:
        decided = "  decided / 决定于:   not yet: this is what signing now would give / 签约后预计"
    else:
        decided = (
            f"  decided / 决定于:   {row.decided_at.isoformat()} (event: {decision.event}, "
            f"decision #{row.seq})"
        )
    lines = [
        unsigned if row is None else f"Patient {psn_no}",
        f"  status / 状态:      {status} ({zh} / {en})",
        f"  credit line / 额度: {format_amount(decision.line)} yuan",
        f"  score / 评分:       {'—' if decision.score is None else decision.score}",
        f"  scorecard / 评分卡: version {decision.scorecard_version}",
        decided,
    ]
    if decision.suspended_until:
        lines.append(f"  suspended until / 暂停至: {decision.suspended_until.isoformat()}")
    if decision.reasons:
        lines.append("  reasons / 原因:")
        for number, reason in enumerate(decision.reasons, start=1):
            cost = f", -{reason.points_lost} points" if reason.points_lost else ""
            lines.append(f"    {number}. [{reason.code}{cost}] {reason.zh} / {reason.en}")
    else:
        lines.append("  reasons / 原因: none: every attribute earned its best points")
    return "\n".join(lines)
