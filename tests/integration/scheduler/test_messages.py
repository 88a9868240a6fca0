"""Messages: rendered in Chinese with the amount, deadline and link; dispatched once; no phones
in the logs."""

from __future__ import annotations

import logging

from settlement.foundation.codes import login_code
from settlement.messages import dispatch_outbox
from settlement.messages.outbox import OutboxCodeSender
from settlement.messages.tables import SandboxMessage
from settlement.scheduler import run_due
from tests.harness import SECRET_KEY
from tests.integration.scheduler.support import bill_for, count, outbox


def test_a_reminder_names_the_amount_the_local_deadline_and_the_bills_link(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person, amount="12.30")
    run_due(service.container)
    sms, push = outbox(service, kind="remind_close")
    assert (sms.channel, push.channel) == ("sms", "push")
    # Closed 2026-11-23 09:30 in Dezhou, so due 2026-11-26 09:30 local time.
    assert "¥12.30" in sms.body
    assert "2026年11月26日 09:30" in sms.body
    # An SMS has no page to be relative to: the link is absolute (SHUXIN_PUBLIC_BASE_URL).
    assert f"http://127.0.0.1:8000/app/bills/{bill_id}" in sms.body
    assert sms.body.startswith("【舒心就医】")
    assert sms.link == f"http://127.0.0.1:8000/app/bills/{bill_id}"
    assert push.body_en is not None and "¥12.30" in push.body_en


def test_dispatch_marks_messages_sent_once_and_the_sandbox_records_them(service, his):
    person, _ = service.enrol()
    bill_for(service, his, person)
    run_due(service.container)
    assert {m.status for m in outbox(service)} == {"sent"}
    assert all(m.attempts == 1 and m.sent_at is not None for m in outbox(service))
    assert dispatch_outbox(service.container, service.clock.now()).sent == 0
    assert count(service, SandboxMessage.id) == 2
    listed = service.client.get("/sandbox/v1/messages", params={"psn_no": person.psn_no}).json()
    assert {m["channel"] for m in listed} == {"sms", "push"}
    sms = next(m for m in listed if m["channel"] == "sms")
    assert person.phone not in sms["address"] and sms["address"].endswith(person.phone[-4:])
    assert service.client.get("/sandbox/v1/messages", params={"psn_no": "nobody"}).json() == []


def test_a_failing_gateway_is_retried_then_the_message_is_marked_failed(service, his):
    person, _ = service.enrol()
    bill_for(service, his, person)

    class Down:
        def __init__(self, session):
            pass

        def send_sms(self, **_):
            raise ConnectionError("operator unreachable")

    service.container.sms_gateway = Down
    run_due(service.container)  # queues the at-close reminder and makes the first attempt
    assert [m.status for m in outbox(service)] == ["pending", "sent"]
    for _ in range(5):
        dispatch_outbox(service.container, service.clock.now())
    sms, push = outbox(service)
    assert (sms.status, sms.attempts) == ("failed", 5)
    assert "ConnectionError" in sms.last_error
    assert push.status == "sent"


def test_no_phone_number_or_id_number_reaches_the_logs(service, his, caplog):
    caplog.set_level(logging.DEBUG)
    person, _ = service.enrol()
    bill_for(service, his, person)
    with service.container.uow() as uow:
        code = login_code(SECRET_KEY, "salt-of-a-logged-code")
        OutboxCodeSender(service.clock).send_login_code(
            uow.session,
            psn_no=person.psn_no,
            phone=person.phone,
            code=code,
            code_salt="salt-of-a-logged-code",
            expires_in=300,
        )
        uow.commit()

    class Down:
        def __init__(self, session):
            pass

        def send_sms(self, **_):
            raise ConnectionError("operator unreachable")

    run_due(service.container)
    service.container.sms_gateway = Down
    bill_for(service, his, person)
    service.advance(hours=80)
    run_due(service.container)
    assert caplog.records, "the run should have logged something"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert person.phone not in logged
    assert person.certno not in logged
    assert code not in logged


def test_a_login_code_goes_out_as_an_sms_through_the_outbox(service):
    person, _ = service.enrol()
    code = login_code(SECRET_KEY, "salt-of-a-sent-code")
    with service.container.uow() as uow:
        OutboxCodeSender(service.clock).send_login_code(
            uow.session,
            psn_no=person.psn_no,
            phone=person.phone,
            code=code,
            code_salt="salt-of-a-sent-code",
            expires_in=300,
        )
        uow.commit()
    run_due(service.container)
    (sent,) = service.client.get("/sandbox/v1/messages", params={"psn_no": person.psn_no}).json()
    assert sent["kind"] == "login_code"
    assert code in sent["body"] and "5分钟" in sent["body"]
