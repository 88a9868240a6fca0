"""What a patient reads about their line after credit events (issue 16 item 9): the scorecard's
reasons keep explaining it, and the events that moved it follow them."""

from __future__ import annotations

import uuid

from settlement.scheduler import run_due
from tests.integration.payments.support import login, pay
from tests.integration.scheduler.support import bill, bill_for


def reasons(service, headers) -> list[str]:
    answer = service.client.get("/v1/me/credit", headers=headers)
    assert answer.status_code == 200, answer.text
    return [reason["code"] for reason in answer.json()["reasons"]]


def test_a_bill_repaid_on_time_leaves_the_scorecards_reasons_and_an_overdue_one_follows_them(
    service, his
):
    person, _ = service.enrol(rating="B", contribution_months=24)
    headers = login(service, person)
    scored = reasons(service, headers)
    assert scored and "repaid_on_time" not in scored

    on_time = bill_for(service, his, person, amount="10.00")
    assert pay(service, headers, on_time, key=uuid.uuid4().hex).status_code == 201
    assert reasons(service, headers) == scored  # not "explained" by a bill repaid on time

    late = bill_for(service, his, person, amount="10.00")
    service.advance(hours=73)
    run_due(service.container)
    assert bill(service, late).status == "overdue"
    assert reasons(service, headers) == [*scored, "frozen_overdue"]
