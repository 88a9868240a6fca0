"""The sweeps' set-based writes (``settlement.foundation.db.among`` and ``insert_rows``) store what a plain
INSERT would, and a sweep over several batches still handles each bill once, oldest first."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from settlement.billing.credit_records import CreditRepository
from settlement.billing.credit_tables import CreditDecisionRow
from settlement.foundation.db import among, insert_rows
from settlement.messages.tables import OutboxMessage
from settlement.scheduler import sweep_overdue, sweeps
from tests.bench.support.statements import count_psycopg, stop_counting_psycopg
from tests.integration.scheduler.support import actions, bill, bill_for, count, outbox

DECIDED = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def decision_row(psn_no: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "psn_no": psn_no,
        "seq": 1,
        "status": "frozen",
        "line_fen": 80000,
        "score": None,
        "reasons": [],
        "inputs": {},
        "scorecard_version": "v1",
        "event": "bill_overdue",
        "suspended_until": None,
        "overdue_unpaid": 1,
        "as_of": date(2026, 11, 23),
        "decided_at": DECIDED,
    }
    row.update(changes)
    return row


def test_inserted_rows_read_back_as_written_even_when_they_share_a_json_value(uow_factory):
    shared = [{"code": "frozen_overdue", "zh": "账单逾期，额度冻结", "attribute": None}]
    rows = [
        decision_row("P1", reasons=shared, inputs={"history": {"overdue_unpaid": 1}}, score=610),
        decision_row("P2", reasons=shared, suspended_until=date(2027, 5, 23)),
        decision_row("P3", inputs={"quote": 'it\'s "quoted"\tand\\tabbed\n'}),
    ]
    with uow_factory() as uow:
        assert insert_rows(uow.session, CreditDecisionRow.__table__, rows) == 3
        assert insert_rows(uow.session, CreditDecisionRow.__table__, []) == 0
        uow.commit()
    with uow_factory() as uow:
        read = {
            row.psn_no: row
            for row in uow.session.scalars(select(CreditDecisionRow).order_by(CreditDecisionRow.id))
        }
        uow.session.expunge_all()  # keep the loaded values after the read-only rollback
    assert [read[p].reasons for p in ("P1", "P2", "P3")] == [shared, shared, []]
    assert read["P1"].inputs == {"history": {"overdue_unpaid": 1}}
    assert read["P1"].score == 610 and read["P2"].score is None
    assert read["P2"].suspended_until == date(2027, 5, 23)
    assert read["P3"].inputs == {"quote": 'it\'s "quoted"\tand\\tabbed\n'}
    assert {row.decided_at for row in read.values()} == {DECIDED}


def test_among_finds_exactly_the_values_listed(uow_factory):
    with uow_factory() as uow:
        insert_rows(
            uow.session, CreditDecisionRow.__table__, [decision_row(p) for p in ("A", "B", "C")]
        )
        found = uow.session.scalars(
            select(CreditDecisionRow.psn_no).where(
                among(uow.session, CreditDecisionRow.psn_no, ["A", "C", "nobody"])
            )
        ).all()
        nothing = uow.session.scalars(
            select(CreditDecisionRow.psn_no).where(among(uow.session, CreditDecisionRow.psn_no, []))
        ).all()
    assert sorted(found) == ["A", "C"]
    assert nothing == []


def test_among_matches_values_with_quotes_backslashes_braces_and_commas(uow_factory):
    """On PostgreSQL the list goes as an array literal (``text_array``): every character that
    literal gives a meaning to still matches itself, and only itself."""
    awkward = ['a"b', "c\\d", "{e}", "f,g", " h ", "NULL", ""]
    with uow_factory() as uow:
        rows = [decision_row(p) for p in (*awkward, "f", "g", "h", "null")]
        insert_rows(uow.session, CreditDecisionRow.__table__, rows)
        found = uow.session.scalars(
            select(CreditDecisionRow.psn_no).where(
                among(uow.session, CreditDecisionRow.psn_no, awkward)
            )
        ).all()
    assert sorted(found) == sorted(awkward)


def test_a_sweep_over_several_batches_makes_each_bill_overdue_once_oldest_first(
    service, his, monkeypatch
):
    monkeypatch.setattr(sweeps, "BATCH_SIZE", 2)
    people = [service.enrol()[0] for _ in range(3)]
    bills = []
    for person in (*people, people[0], people[1]):  # two patients with two bills each
        bills.append(bill_for(service, his, person))
        service.advance(hours=1)
    service.advance(hours=72)

    report = sweep_overdue(service.container, service.clock.now())

    assert report.ids == bills  # batches of two, by deadline
    assert sweep_overdue(service.container, service.clock.now()).ids == []
    assert sorted(b for b, kind, _ in actions(service, "overdue")) == sorted(bills)
    assert {bill(service, b).status for b in bills} == {"overdue"}
    frozen = CreditDecisionRow.event == "bill_overdue"
    assert count(service, CreditDecisionRow.id, frozen) == 5
    assert len(outbox(service, kind="overdue")) == 10
    assert {m.channel for m in outbox(service, kind="overdue", psn_no=people[0].psn_no)} == {
        "sms",
        "push",
    }
    assert count(service, OutboxMessage.id, OutboxMessage.kind == "overdue") == 10
    with service.container.uow() as uow:
        latest = CreditRepository(uow.session).latest_decision(people[0].psn_no)
    assert latest is not None and latest.status in ("frozen", "suspended")  # per policy
    assert latest.inputs["history"]["overdue_unpaid"] == 2  # its batch saw the earlier one


@pytest.mark.postgres
def test_the_overdue_sweep_sends_as_many_statements_for_six_bills_as_for_two(
    postgres_only, service, his, monkeypatch
):
    """Set-based: a batch costs the same statements whatever its size (no per-bill read)."""
    monkeypatch.setattr(sweeps, "OVERDUE_WORKERS", 1)  # one worker: its batches are the run's

    def swept(patients: int) -> Counter[str]:
        bills = [bill_for(service, his, service.enrol()[0]) for _ in range(patients)]
        service.advance(hours=73)
        log = count_psycopg()
        before = log.snapshot()
        report = sweep_overdue(service.container, service.clock.now())
        assert sorted(report.ids) == sorted(bills)
        counts = log.snapshot().since(before).counts
        # psycopg's own housekeeping (its prepared-statement cache), not the sweep's.
        return Counter({shape: n for shape, n in counts.items() if shape != "DEALLOCATE"})

    try:
        two, six = swept(2), swept(6)
    finally:
        stop_counting_psycopg()
    assert two == six
    assert two["COPY outbox"] == 1 and two["UPDATE bills"] == 1
