"""Secrets at rest (issue 17, item 7): no login code in clear in the outbox, sent messages purged
after their retention, and of an unsigned wallet callback only its digest kept (and purged)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from settlement.billing.payment_tables import WalletCallbackLog
from settlement.messages.tables import OutboxMessage, SandboxMessage
from settlement.messages.templates import CODE_MASK
from settlement.scheduler.sweeps import sweep_expiry
from tests.harness import build_service


def outbox_rows(service) -> list[SimpleNamespace]:
    with service.container.uow() as uow:
        rows = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [
            SimpleNamespace(
                kind=r.kind, status=r.status, body=r.body, code_salt=r.code_salt, psn_no=r.psn_no
            )
            for r in rows
        ]


def test_a_login_code_is_never_stored_in_clear_and_still_reaches_the_phone(engine):
    service = build_service(engine)
    person = service.add_person()
    code = service.client.post("/v1/auth/otp", json={"phone": person.phone}).json()["sandbox_code"]
    (row,) = outbox_rows(service)
    assert row.kind == "login_code" and row.status == "sent"  # sent at once, in the background
    assert code not in row.body
    assert CODE_MASK in row.body
    assert row.code_salt is None  # erased once sent: not even the key renders it again
    (sms,) = service.client.get("/sandbox/v1/messages", params={"psn_no": person.psn_no}).json()
    assert code in sms["body"]  # the sandbox's phone got the real code
    token = service.client.post("/v1/auth/token", json={"phone": person.phone, "code": code})
    assert token.status_code == 200


def test_a_queued_login_code_keeps_only_its_salt_until_sent(engine):
    from settlement.foundation.codes import login_code
    from settlement.messages import dispatch_outbox
    from settlement.messages.outbox import OutboxCodeSender
    from tests.harness import SECRET_KEY

    service = build_service(engine)
    person = service.add_person()
    code = login_code(SECRET_KEY, "a-salt")
    with service.container.uow() as uow:
        OutboxCodeSender(service.clock).send_login_code(
            uow.session,
            psn_no=person.psn_no,
            phone=person.phone,
            code=code,
            code_salt="a-salt",
            expires_in=300,
        )
        uow.commit()
    (queued,) = outbox_rows(service)
    assert (queued.status, queued.code_salt) == ("pending", "a-salt")
    assert code not in queued.body
    dispatch_outbox(service.container, service.clock.now())
    (sent,) = outbox_rows(service)
    assert (sent.status, sent.code_salt) == ("sent", None)
    (sms,) = service.client.get("/sandbox/v1/messages", params={"psn_no": person.psn_no}).json()
    assert code in sms["body"]


def test_sent_messages_are_purged_after_the_retention_and_others_kept(engine):
    service = build_service(engine, message_retention_days=2)
    old, recent = service.add_person(), service.add_person()
    service.client.post("/v1/auth/otp", json={"phone": old.phone})
    service.advance(days=2, minutes=1)
    service.client.post("/v1/auth/otp", json={"phone": recent.phone})
    with service.container.uow() as uow:
        uow.session.add(
            OutboxMessage(
                kind="login_code",
                psn_no=old.psn_no,
                channel="sms",
                template="login_code",
                body="failed, for an operator",
                status="failed",
                attempts=5,
                created_at=service.clock.now() - timedelta(days=9),
            )
        )
        uow.commit()
    report = sweep_expiry(service.container, service.clock.now())
    assert report.counts["messages"] == 1
    left = outbox_rows(service)
    assert sorted((r.psn_no, r.status) for r in left) == sorted(
        [(recent.psn_no, "sent"), (old.psn_no, "failed")]
    )
    with service.container.uow() as uow:
        kept = uow.session.scalars(select(SandboxMessage.psn_no)).all()
    assert kept == [recent.psn_no]


def test_an_unsigned_callback_is_kept_only_as_its_digest_and_purged_after_the_retention(engine):
    from settlement.adapters.wallets import sign_callback

    service = build_service(engine, message_retention_days=2)
    junk = b'{"order_id":"PY1","note":"' + b"x" * 3000 + b'"}'
    assert service.client.post("/v1/wallets/wechat/notify", content=junk).status_code == 401
    assert service.client.post("/v1/wallets/paypal/notify", content=junk).status_code == 404
    signed_body = b'{"order_id":"PY1"}'
    signed = service.client.post(
        "/v1/wallets/wechat/notify",
        content=signed_body,
        headers={
            "X-Wallet-Signature": sign_callback(
                service.container.settings.wallet_secret, signed_body
            )
        },
    )
    assert signed.status_code == 400  # malformed, but the provider's: kept as sent
    with service.container.uow() as uow:
        rows = [
            SimpleNamespace(body=r.body, signature_ok=r.signature_ok)
            for r in uow.session.scalars(select(WalletCallbackLog).order_by(WalletCallbackLog.id))
        ]
    digest = f"sha256:{hashlib.sha256(junk).hexdigest()}"
    assert [r.body for r in rows] == [digest, digest, signed_body.decode()]
    assert [r.signature_ok for r in rows] == [False, False, True]
    service.advance(days=2, minutes=1)
    report = sweep_expiry(service.container, service.clock.now())
    assert report.counts["refused_callbacks"] == 2
    with service.container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(WalletCallbackLog)) == 1
