"""``GET /metrics`` in one process: who may read it, and that each figure moves as it should.

Counters are the process's, shared by every test: each check compares two scrapes. The figures
summed over worker processes are checked against a real server in ``tests/e2e``.
"""

from __future__ import annotations

import uuid

import pytest

from settlement.messages.outbox import OutboxCodeSender
from settlement.scheduler import run_due
from tests.harness import ADMIN_TOKEN, Service, build_service
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    bill_for,
    login,
    pay,
    set_behaviour,
)
from tests.metrics_scrape import Scrape, convention_problems, parse, total, value


@pytest.fixture
def service(engine) -> Service:
    # Bills here wait for the patient: an empty personal account leaves the wallet a part (a bill
    # the insurance accounts cover settles when it is made, issue 16 item 4).
    svc = build_service(engine, account_balance="0.00")
    svc.add_hospital("H3", level=3)
    return svc


def scrape(service: Service) -> Scrape:
    response = service.client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    return parse(response.text)[1]


def test_metrics_answer_only_to_the_metrics_token_or_the_administrators(service):
    service.container.settings.metrics_token = "scraper-token-0123456789"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        refused = service.client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"
    for token in ("scraper-token-0123456789", ADMIN_TOKEN):
        answer = service.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=")
        assert "shuxin_http_requests_total" in answer.text


def test_the_names_and_labels_follow_prometheus_conventions(service):
    person, _ = service.enrol()
    service.client.get("/v1/bills/BL000", headers=login(service, person))
    service.client.get("/nowhere/37140000000000000002")
    run_due(service.container)
    text = service.client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
    families, _ = parse(text)
    names = {family.name for family in families}
    assert {
        "shuxin_http_requests",
        "shuxin_http_request_duration_seconds",
        "shuxin_scheduler_sweep_runs",
        "shuxin_scheduler_sweep_duration_seconds",
        "shuxin_scheduler_sweep_lag_seconds",
        "shuxin_outbox_messages",
        "shuxin_outbox_oldest_pending_age_seconds",
        "shuxin_db_pool_in_use_connections",
        "shuxin_db_pool_max_connections",
    } <= names
    # Other tests in this process add routes of their own: any template without an id will do.
    assert convention_problems(families, routes=None) == []


def test_requests_are_counted_by_route_template_and_status_never_by_path(service):
    person, _ = service.enrol()
    headers = login(service, person)
    before = scrape(service)
    for _ in range(3):
        assert service.client.get("/v1/bills/BL2026000000", headers=headers).status_code == 404
    service.client.get("/nowhere/at/all")
    after = scrape(service)
    labels = {"method": "GET", "route": "/v1/bills/{bill_id}", "status": "404"}
    assert (
        value(after, "shuxin_http_requests_total", **labels)
        - value(before, "shuxin_http_requests_total", **labels)
        == 3
    )
    assert (
        value(after, "shuxin_http_request_duration_seconds_count", **labels)
        - value(before, "shuxin_http_request_duration_seconds_count", **labels)
        == 3
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        value(after, "shuxin_http_requests_total", **unmatched)
        - value(before, "shuxin_http_requests_total", **unmatched)
        == 1
    )
    assert not any("BL2026000000" in str(key) or "nowhere" in str(key) for key in after)


def test_fee_batches_are_counted_posted_replayed_or_refused_by_code(service):
    his = service.hospitals["H3"]
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    before = scrape(service)
    key = uuid.uuid4().hex
    assert his.charge(mdtrt_id, (AMOXICILLIN, "10", "1"), key=key).status_code == 201
    assert his.charge(mdtrt_id, (AMOXICILLIN, "10", "1"), key=key).status_code == 409
    assert his.charge(mdtrt_id, (AMOXICILLIN, "9000", "1")).status_code == 402
    assert his.charge("MD-NOT-THERE", (AMOXICILLIN, "10", "1")).status_code == 404
    after = scrape(service)

    def moved(**labels: str) -> float:
        name = "shuxin_fee_batches_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(outcome="posted", code="") == 1
    assert moved(outcome="refused", code="insufficient_credit") == 1
    assert moved(outcome="refused", code="not_found") == 1
    # The retry sent the same key with a body of other feedetl_sn: refused as a reuse.
    assert moved(outcome="refused", code="idempotency_key_reused") == 1


def test_a_retried_fee_batch_counts_as_replayed_not_posted_twice(service):
    his = service.hospitals["H3"]
    person, _ = service.enrol()
    mdtrt_id = his.open_visit(person.psn_no).json()["mdtrt_id"]
    body = {
        "chrg_bchno": "B-RETRY",
        "fees": [
            {
                "feedetl_sn": "F-RETRY",
                "med_list_codg": AMOXICILLIN,
                "item_name": "阿莫西林",
                "pric": "10",
                "cnt": "1",
                "det_item_fee_sumamt": "10.00",
                "fee_ocur_time": service.clock.now().isoformat(),
            }
        ],
    }
    before = scrape(service)
    for _ in range(2):
        answer = his.post(f"/his/v1/visits/{mdtrt_id}/fees", body, key="same-key")
        assert answer.status_code == 201, answer.text
    after = scrape(service)
    name = "shuxin_fee_batches_total"
    assert (
        value(after, name, outcome="posted", code="")
        - value(before, name, outcome="posted", code="")
        == 1
    )
    assert (
        value(after, name, outcome="replayed", code="")
        - value(before, name, outcome="replayed", code="")
        == 1
    )


def test_payments_are_counted_started_settled_failed_or_refused(service):
    his = service.hospitals["H3"]
    person, _ = service.enrol(balc="0.00")
    headers = login(service, person)
    bill_id, _ = bill_for(his, person.psn_no, (HEALTH_ADVICE, "30", "1"))
    before = scrape(service)
    set_behaviour(service, "fail")
    assert pay(service, headers, bill_id).status_code == 201  # the wallet refuses
    assert pay(service, headers, bill_id).status_code == 201  # the wallet pays
    assert pay(service, headers, bill_id).status_code == 409  # already settled
    after = scrape(service)

    def moved(outcome: str, code: str = "") -> float:
        name = "shuxin_payments_total"
        return value(after, name, outcome=outcome, code=code) - value(
            before, name, outcome=outcome, code=code
        )

    assert (moved("started"), moved("failed"), moved("settled")) == (2, 1, 1)
    assert moved("refused", "bill_settled") == 1


def test_a_sweep_counts_its_runs_items_and_duration_and_how_late_it_acted(service):
    his = service.hospitals["H3"]
    person, _ = service.enrol()
    bill_for(his, person.psn_no, (HEALTH_ADVICE, "12", "1"))
    run_due(service.container)  # the reminders at close
    service.advance(hours=72, minutes=90)  # 90 minutes past the deadline
    before = scrape(service)
    run_due(service.container)
    after = scrape(service)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("shuxin_scheduler_sweep_runs_total", sweep="overdue", outcome="ok") == 1
    assert moved("shuxin_scheduler_sweep_items_total", sweep="overdue") == 1
    assert moved("shuxin_scheduler_sweep_duration_seconds_count", sweep="overdue") == 1
    lag = value(after, "shuxin_scheduler_sweep_lag_seconds", sweep="overdue")
    assert 90 * 60 - 5 <= lag <= 90 * 60 + 5
    assert value(after, "shuxin_scheduler_sweep_lag_seconds", sweep="escalate") == 0
    assert value(after, "shuxin_scheduler_last_run_timestamp_seconds") > 0
    assert total(after, "shuxin_scheduler_sweep_runs_total", outcome="ok") > total(
        before, "shuxin_scheduler_sweep_runs_total", outcome="ok"
    )


def test_the_outbox_depth_and_the_age_of_its_oldest_message(service):
    person, _ = service.enrol()
    first = scrape(service)
    assert value(first, "shuxin_outbox_messages", state="pending") == 0
    assert value(first, "shuxin_outbox_oldest_pending_age_seconds") == 0
    for _ in range(2):
        with service.container.uow() as uow:
            OutboxCodeSender(service.clock).send_login_code(
                uow.session,
                psn_no=person.psn_no,
                phone=person.phone,
                code="1",
                code_salt="salt",
                expires_in=300,
            )
            uow.commit()
        service.advance(minutes=5)
    second = scrape(service)
    assert value(second, "shuxin_outbox_messages", state="pending") == 2
    assert value(second, "shuxin_outbox_oldest_pending_age_seconds") == 600
    run_due(service.container)  # the dispatcher sends them
    third = scrape(service)
    assert value(third, "shuxin_outbox_messages", state="pending") == 0
    assert value(third, "shuxin_outbox_oldest_pending_age_seconds") == 0


def test_the_database_pool_is_measured(service):
    answer = scrape(service)
    assert value(answer, "shuxin_db_pool_max_connections") > 0
    assert value(answer, "shuxin_db_pool_in_use_connections") >= 0


def test_a_scheduler_that_leads_says_so(engine):
    from settlement.scheduler import Scheduler

    service = build_service(engine)
    scheduler = Scheduler(service.container, interval_seconds=3600)
    scheduler.tick()
    leading = value(scrape(service), "shuxin_scheduler_leading")
    scheduler.stop()
    assert leading == 1
    assert value(scrape(service), "shuxin_scheduler_leading") == 0
