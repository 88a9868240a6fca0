from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

from api.errors import status_for
from credit.agreement import make_agreements, parse_agreement
from credit.decision import Decision, RepaymentHistory
from credit.events import BillOverdue, BillRepaidOnTime, OverdueBillRepaid, event_reasons
from settlement.adapters.sandbox import SandboxCreditPlatform, SandboxInsurancePlatform
from settlement.adapters.sandbox_tables import (
    SandboxCreditReportRow,
    SandboxInsuredPerson,
    load_demo_persons,
)
from settlement.billing.credit_tables import AgreementSignatureRow, CreditDecisionRow
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.ports import OverdueReport
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.usecases.credit import (
    CreditConfig,
    CreditServiceError,
    credit_standing,
    current_decision,
    explain,
    preview_decision,
    record_event,
    revoke_agreement,
    sign_agreement,
    signature_in_force,
)
from tests.database import PostgresTestDatabase
from tests.integration.credit.conftest import SEEDS
from tests.races import run_together

ZHANG_WEI = {"psn_no": "37140000000000000002", "certno": "371402197906053936", "psn_name": "张伟"}
DISHONEST = "37140000000000000021"  # 胡斌


def sign(
    uow_factory: UnitOfWorkFactory,
    config: CreditConfig,
    clock: AdjustableClock,
    **overrides: Any,
) -> Decision:
    arguments: dict[str, Any] = {
        **ZHANG_WEI,
        "version": 1,
        "accept": True,
        "autopay": "on_close",
        "channel": "app",
        "client_addr": "203.0.113.7",
        "user_agent": "ShuxinApp/1.0 (Android 14)",
        "history": RepaymentHistory(),
        **overrides,
    }
    with uow_factory() as uow:
        decision = sign_agreement(
            uow.session,
            config=config,
            clock=clock,
            insurance=SandboxInsurancePlatform(uow.session),
            credit=SandboxCreditPlatform(uow.session),
            **arguments,
        )
        uow.commit()
    return decision


def refused(
    uow_factory: UnitOfWorkFactory, config: CreditConfig, clock: AdjustableClock, **overrides: Any
) -> CreditServiceError:
    with pytest.raises(CreditServiceError) as error:
        sign(uow_factory, config, clock, **overrides)
    return error.value


def count(uow_factory: UnitOfWorkFactory, table: type) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def test_signing_grants_a_line_and_stores_the_evidence(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    decision = sign(demo_uow, credit_config, clock)
    # 张伟: rating A, 180 months, in service, no history: 100+80+25+0+30+30 = 265 → 930 → 900.
    assert (decision.status, decision.line, decision.score) == ("active", Decimal(900), 265)
    assert [r.code for r in decision.reasons] == ["few_bills_on_time", "in_service_member"]
    with demo_uow() as uow:
        signature = uow.session.scalars(select(AgreementSignatureRow)).one()
        assert signature.psn_no == ZHANG_WEI["psn_no"]
        assert signature.version == 1
        assert signature.text_sha256 == credit_config.agreements.current(clock.now().date()).sha256
        assert signature.signed_at == clock.now()
        assert (signature.channel, signature.client_addr) == ("app", "203.0.113.7")
        assert signature.user_agent.startswith("ShuxinApp")
        assert signature.autopay == "on_close" and signature.revoked_at is None
        assert current_decision(uow.session, ZHANG_WEI["psn_no"]) == decision
        assert signature_in_force(uow.session, ZHANG_WEI["psn_no"], 1)


def test_signing_the_same_version_again_changes_nothing(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    first = sign(demo_uow, credit_config, clock)
    clock.advance(timedelta(hours=1))
    again = sign(demo_uow, credit_config, clock)
    assert again == first
    assert count(demo_uow, AgreementSignatureRow) == 1
    assert count(demo_uow, CreditDecisionRow) == 1


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"certno": "37140219790605393"}, "invalid_certno", 422),
        ({"certno": "371402197906053937"}, "invalid_certno", 422),
        ({"psn_name": "张玮"}, "identity_mismatch", 422),
        ({"certno": "11010519491231002X"}, "identity_mismatch", 422),
        ({"psn_no": "37149999999999999999"}, "patient_not_found", 404),
        ({"version": 2}, "version_mismatch", 409),
        ({"accept": False}, "not_accepted", 422),
        ({"autopay": "always"}, "validation_error", 422),
    ],
)
def test_signing_with_bad_identity_or_terms_is_refused_and_stores_nothing(
    demo_uow: UnitOfWorkFactory,
    credit_config: CreditConfig,
    clock: AdjustableClock,
    overrides: dict[str, Any],
    code: str,
    status: int,
) -> None:
    error = refused(demo_uow, credit_config, clock, **overrides)
    # The service names the refusal; the API alone turns its code into the status answered.
    assert (error.code, status_for(error.code)) == (code, status)
    assert count(demo_uow, AgreementSignatureRow) == 0
    assert count(demo_uow, CreditDecisionRow) == 0


def test_a_wrong_check_character_is_reported_as_a_checksum_problem(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    error = refused(demo_uow, credit_config, clock, certno="371402197906053937")
    assert error.details["reason"] == "certno_checksum"


def test_a_dishonest_debtor_signs_but_is_not_eligible_and_can_see_why(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    with demo_uow() as uow:
        row = uow.session.get(SandboxInsuredPerson, DISHONEST)
        assert row is not None
        identity = {"psn_no": row.psn_no, "certno": row.certno, "psn_name": row.psn_name}
    decision = sign(demo_uow, credit_config, clock, **identity)
    assert (decision.status, decision.line) == ("not_eligible", 0)
    with demo_uow() as uow:
        text = explain(uow.session, DISHONEST)
    assert "not_eligible" in text
    assert "dishonest_debtor" in text and "失信被执行人" in text


def test_explain_prints_status_line_score_reasons_and_the_scorecard_version(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    with demo_uow() as uow:
        assert "not signed" in explain(uow.session, ZHANG_WEI["psn_no"])
    sign(demo_uow, credit_config, clock)
    with demo_uow() as uow:
        text = explain(uow.session, ZHANG_WEI["psn_no"])
    assert "active" in text and "900.00 yuan" in text and "265" in text
    assert "version 2026.1" in text
    assert "按时还款记录较少 / Few bills repaid on time yet" in text
    assert "-30 points" in text


def test_every_seeded_demo_patient_can_be_explained_before_and_after_signing(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    with demo_uow() as uow:
        people = uow.session.scalars(select(SandboxInsuredPerson)).all()
        texts = {}
        for person in people:
            preview = preview_decision(
                config=credit_config,
                clock=clock,
                insurance=SandboxInsurancePlatform(uow.session),
                credit=SandboxCreditPlatform(uow.session),
                psn_no=person.psn_no,
                history=RepaymentHistory(),
            )
            texts[person.psn_no] = explain(uow.session, person.psn_no, preview=preview)
    assert len(texts) == 36
    assert all("signing now would give" in text and "reasons" in text for text in texts.values())
    assert "not_employee_insurance" in texts["37140000000000000027"]  # insutype 390
    assert count(demo_uow, CreditDecisionRow) == 0  # previews are recorded nowhere
    decision = sign(demo_uow, credit_config, clock)
    with demo_uow() as uow:
        preview = preview_decision(
            config=credit_config,
            clock=clock,
            insurance=SandboxInsurancePlatform(uow.session),
            credit=SandboxCreditPlatform(uow.session),
            psn_no=ZHANG_WEI["psn_no"],
            history=RepaymentHistory(),
        )
        assert (preview.line, preview.score) == (decision.line, decision.score)
        assert "decision #1" in explain(uow.session, ZHANG_WEI["psn_no"], preview=preview)


def test_revoking_is_refused_while_anything_is_outstanding_and_allowed_after(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    sign(demo_uow, credit_config, clock)
    with demo_uow() as uow, pytest.raises(CreditServiceError) as error:
        revoke_agreement(uow.session, clock=clock, psn_no=ZHANG_WEI["psn_no"], outstanding_fen=1)
    assert (error.value.code, status_for(error.value.code)) == ("outstanding_balance", 409)

    with demo_uow() as uow:
        decision = revoke_agreement(
            uow.session, clock=clock, psn_no=ZHANG_WEI["psn_no"], outstanding_fen=0
        )
        uow.commit()
    assert decision.status == "not_signed"
    assert decision.reasons[0].code == "agreement_revoked"
    with demo_uow() as uow:
        signature = uow.session.scalars(select(AgreementSignatureRow)).one()
        assert signature.revoked_at == clock.now()
        assert not signature_in_force(uow.session, ZHANG_WEI["psn_no"], 1)
        standing = credit_standing(
            uow.session, ZHANG_WEI["psn_no"], config=credit_config, clock=clock
        )
        assert standing.status == "not_signed"
        with pytest.raises(CreditServiceError) as again:
            revoke_agreement(
                uow.session, clock=clock, psn_no=ZHANG_WEI["psn_no"], outstanding_fen=0
            )
        assert again.value.code == "not_signed"


def test_signing_again_after_revoking_scores_afresh(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    sign(demo_uow, credit_config, clock)
    with demo_uow() as uow:
        revoke_agreement(uow.session, clock=clock, psn_no=ZHANG_WEI["psn_no"], outstanding_fen=0)
        uow.commit()
    history = RepaymentHistory(bills_on_time=6, bills_late=1, max_days_late=2)
    decision = sign(demo_uow, credit_config, clock, history=history)
    # 100+80+25+30+15+20 = 270 → 940 → 900, and an active standing again.
    assert (decision.status, decision.score, decision.event) == ("active", 270, "signed")
    with demo_uow() as uow:
        standing = credit_standing(
            uow.session, ZHANG_WEI["psn_no"], config=credit_config, clock=clock
        )
        assert standing.status == "active"


def with_version_2(config: CreditConfig) -> CreditConfig:
    """The seeded configuration plus an agreement version 2 in force from 2026-04-01."""
    v1 = (SEEDS / "agreements" / "v1.md").read_text(encoding="utf-8")
    v2 = v1.replace("version = 1", "version = 2").replace("2026-01-01", "2026-04-01")
    agreements = make_agreements([parse_agreement(v1), parse_agreement(v2 + "\n七、新增条款。\n")])
    return replace(config, agreements=agreements)


def test_a_new_agreement_version_requires_signing_again_and_keeps_the_line(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    config = with_version_2(credit_config)
    first = sign(demo_uow, config, clock)
    psn_no = ZHANG_WEI["psn_no"]
    with demo_uow() as uow:
        record_event(
            uow.session,
            config=config,
            clock=clock,
            psn_no=psn_no,
            event=BillOverdue("bill-1"),
            history=RepaymentHistory(overdue_unpaid=1, overdue_count_12m=1),
        )
        record_event(
            uow.session,
            config=config,
            clock=clock,
            psn_no=psn_no,
            event=OverdueBillRepaid("bill-1"),
            history=RepaymentHistory(bills_late=1, max_days_late=1, overdue_count_12m=1),
        )
        uow.commit()
    clock.advance(timedelta(days=31))  # 2026-04-01: version 2 is in force
    with demo_uow() as uow:
        assert not signature_in_force(uow.session, psn_no, 2)
        standing = credit_standing(uow.session, psn_no, config=config, clock=clock)
        assert standing.status == "not_signed"
        assert standing.reasons[0].code == "agreement_new_version"
    assert refused(demo_uow, config, clock, version=1).code == "version_mismatch"
    resigned = sign(demo_uow, config, clock, version=2)
    assert (resigned.status, resigned.line) == ("active", first.line - 100)
    with demo_uow() as uow:
        assert signature_in_force(uow.session, psn_no, 2)
        assert credit_standing(uow.session, psn_no, config=config, clock=clock) == resigned
    assert count(demo_uow, AgreementSignatureRow) == 2


def test_events_recorded_through_the_service_follow_the_documented_lines(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    psn_no = ZHANG_WEI["psn_no"]
    sign(demo_uow, credit_config, clock)  # 900
    history = RepaymentHistory()
    steps: list[tuple[Any, dict[str, int]]] = [
        (BillRepaidOnTime("b1"), {"bills_on_time": 1, "on_time_streak": 1}),
        (BillRepaidOnTime("b2"), {"bills_on_time": 2, "on_time_streak": 2}),
        (BillRepaidOnTime("b3"), {"bills_on_time": 3, "on_time_streak": 3}),
        (BillOverdue("b4"), {"overdue_unpaid": 1, "overdue_count_12m": 1, "on_time_streak": 0}),
        (OverdueBillRepaid("b4"), {"overdue_unpaid": 0, "bills_late": 1, "max_days_late": 2}),
        (BillOverdue("b5"), {"overdue_unpaid": 1, "overdue_count_12m": 2}),
    ]
    seen = []
    for event, changes in steps:
        history = replace(history, **changes)
        clock.advance(timedelta(days=10))
        with demo_uow() as uow:
            decision = record_event(
                uow.session,
                config=credit_config,
                clock=clock,
                psn_no=psn_no,
                event=event,
                history=history,
            )
            uow.commit()
        moved = event_reasons(decision)
        seen.append((decision.status, int(decision.line), moved[-1].code if moved else None))
    assert seen == [
        ("active", 900, None),
        ("active", 900, None),
        ("active", 1000, "step_up_on_time"),
        ("frozen", 1000, "frozen_overdue"),
        ("active", 900, "unfrozen_lower"),
        ("suspended", 900, "suspended_repeat"),
    ]
    with demo_uow() as uow:
        rows = uow.session.scalars(select(CreditDecisionRow).order_by(CreditDecisionRow.seq)).all()
        assert [row.seq for row in rows] == list(range(1, 8))
        assert rows[-1].event == "bill_overdue"
        assert rows[-1].inputs["event_bill_id"] == "b5"
        assert rows[-1].suspended_until is not None
        standing = credit_standing(uow.session, psn_no, config=credit_config, clock=clock)
        assert standing.status == "suspended"
        assert "suspended until" in explain(uow.session, psn_no)


def test_an_event_for_a_patient_who_never_signed_is_refused(
    demo_uow: UnitOfWorkFactory, credit_config: CreditConfig, clock: AdjustableClock
) -> None:
    with demo_uow() as uow, pytest.raises(CreditServiceError) as error:
        record_event(
            uow.session,
            config=credit_config,
            clock=clock,
            psn_no=ZHANG_WEI["psn_no"],
            event=BillRepaidOnTime("b1"),
            history=RepaymentHistory(bills_on_time=1),
        )
    assert error.value.code == "not_signed"


def test_loading_the_demo_persons_twice_changes_nothing(
    demo_uow: UnitOfWorkFactory,
) -> None:
    before = count(demo_uow, SandboxInsuredPerson)
    with demo_uow() as uow:
        assert load_demo_persons(uow.session, SEEDS / "demo" / "insured_persons.csv") == before
        uow.commit()
    assert count(demo_uow, SandboxInsuredPerson) == before == 36


def test_the_sandbox_platforms_answer_like_the_national_person_lookup(
    demo_uow: UnitOfWorkFactory, clock: AdjustableClock
) -> None:
    with demo_uow() as uow:
        person = SandboxInsurancePlatform(uow.session).lookup_person(ZHANG_WEI["psn_no"])
        assert person is not None
        assert (person.psn_name, person.insutype, person.psn_type) == ("张伟", "310", "11")
        assert person.insuplc_admdvs == "371400" and person.balc >= 0
        credit = SandboxCreditPlatform(uow.session)
        report = credit.rating(ZHANG_WEI["certno"])
        assert report is not None and report.rating == "A" and not report.dishonest
        assert SandboxInsurancePlatform(uow.session).lookup_person("nobody") is None
        overdue = OverdueReport(
            psn_no=person.psn_no,
            certno=person.certno,
            bill_id="bill-9",
            amount=Decimal("123.45"),
            reported_at=clock.now(),
        )
        assert credit.report_overdue(overdue) is True
        assert credit.report_overdue(overdue) is False
        uow.commit()
    assert count(demo_uow, SandboxCreditReportRow) == 1


@pytest.mark.postgres
def test_concurrent_events_for_one_patient_are_serialised_and_none_is_lost(
    postgres_only: PostgresTestDatabase,
    demo_uow: UnitOfWorkFactory,
    credit_config: CreditConfig,
    clock: AdjustableClock,
) -> None:
    psn_no = ZHANG_WEI["psn_no"]
    sign(demo_uow, credit_config, clock)

    def repay(bill: int) -> None:
        with demo_uow() as uow:
            record_event(
                uow.session,
                config=credit_config,
                clock=clock,
                psn_no=psn_no,
                event=BillRepaidOnTime(f"bill-{bill}"),
                history=RepaymentHistory(bills_on_time=1, on_time_streak=1),
            )
            uow.commit()

    run_together([partial(repay, n) for n in range(4)], timeout=30)  # raises what a racer raised
    with demo_uow() as uow:
        seqs = uow.session.scalars(
            select(CreditDecisionRow.seq).where(CreditDecisionRow.psn_no == psn_no)
        ).all()
    assert sorted(seqs) == [1, 2, 3, 4, 5]
