"""Money that moved is told (issue 16 item 5): a payment received, auto-pay taken or failed, a
refund returned source by source, a line raised or unfrozen; to the patient and their managers,
in Chinese with English beside it, each link absolute from the public base URL."""

from __future__ import annotations

import shutil
import uuid
from decimal import Decimal

import pytest

from settlement.scheduler import run_due
from tests.harness import SEEDS, build_service
from tests.integration.family.support import charge, close, make_family
from tests.integration.payments.support import (
    AMOXICILLIN,
    HEALTH_ADVICE,
    login,
    pay,
    set_behaviour,
)
from tests.integration.payments.support import bill_for as priced_bill
from tests.integration.scheduler.support import bill, bill_for, outbox
from tests.integration.scheduler.test_autopay import withholding

BASE = "https://shuxin.example.org"


@pytest.fixture
def service(engine):
    # An empty personal account unless a test gives one: its bills wait for the wallet.
    svc = build_service(engine, public_base_url=BASE + "/", account_balance="0.00")
    svc.add_hospital("H3", level=3)
    return svc


def _only(service, kind: str, psn_no: str):
    rows = outbox(service, kind=kind, psn_no=psn_no)
    assert sorted(m.channel for m in rows) == ["push", "sms"], [m.body for m in rows]
    return next(m for m in rows if m.channel == "sms")


def test_a_payment_received_is_told_with_each_source_and_an_absolute_link(service, his):
    person, _ = service.enrol(balc="100.00")
    bill_id, _ = priced_bill(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    assert pay(service, login(service, person), bill_id, "alipay").status_code == 201

    sms = _only(service, "payment_received", person.psn_no)

    assert sms.body.startswith("【舒心就医】您的信用就医账单¥330.00已结清")
    assert "医保统筹基金¥50.00、个人账户¥100.00、支付宝¥180.00" in sms.body
    assert sms.link == f"{BASE}/app/bills/{bill_id}"
    assert sms.body.endswith(f"{BASE}/app/bills/{bill_id}")
    assert sms.body_en is not None
    assert "pooled fund ¥50.00, personal account ¥100.00, Alipay ¥180.00" in sms.body_en
    assert sms.body_en.startswith("[Shuxin Care] Your credit care bill of ¥330.00 is paid")


def test_a_relatives_payment_is_told_to_the_manager_naming_the_relative(service):
    family = make_family(service)
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, "40.00")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    assert pay(service, family.manager_auth, bill_id).status_code == 201

    to_relative = _only(service, "payment_received", family.relative.psn_no)
    to_manager = _only(service, "payment_received", family.manager.psn_no)

    assert "您的信用就医账单¥40.00已结清" in to_relative.body
    assert f"您的亲属{family.relative.psn_name}的信用就医账单¥40.00已结清" in to_manager.body
    assert f"Your relative {family.relative.psn_name}'s credit care bill" in to_manager.body_en


def test_auto_pay_taken_is_told(service, his):
    person = service.add_person(balc="100.00")
    service.sign(person, autopay="on_close")
    withholding(service, person)
    bill_id = bill_for(service, his, person, amount="300.00")

    run_due(service.container)

    assert bill(service, bill_id).status == "settled"
    sms = _only(service, "autopay_taken", person.psn_no)
    assert "已通过自动扣款结清" in sms.body
    assert "支付宝¥200.00" in sms.body
    assert outbox(service, kind="payment_received") == []


def test_auto_pay_declined_by_the_wallet_is_told_with_the_deadline(service, his):
    person = service.add_person()
    service.sign(person, autopay="on_close")
    withholding(service, person)
    set_behaviour(service, "fail", "alipay")
    bill_id = bill_for(service, his, person, amount="300.00")

    run_due(service.container)

    assert bill(service, bill_id).status == "billed"
    sms = _only(service, "autopay_failed", person.psn_no)
    assert "自动扣款未成功" in sms.body
    assert "2026年11月26日 09:30" in sms.body
    assert sms.link == f"{BASE}/app/bills/{bill_id}"


def test_a_failed_payment_in_the_app_sends_no_auto_pay_notice(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person, amount="300.00")
    set_behaviour(service, "fail")
    assert pay(service, login(service, person), bill_id).status_code == 201
    assert outbox(service, kind="autopay_failed") == []


def test_a_refund_after_settlement_is_told_source_by_source(service, his):
    person, _ = service.enrol(balc="100.00")
    bill_id, sns = priced_bill(
        his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1")
    )
    assert pay(service, login(service, person), bill_id, "wechat").status_code == 201
    refunded = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": [sns[1]], "reason": "退药"}
    )
    assert refunded.status_code == 200, refunded.text
    back = refunded.json()

    sms = _only(service, "refund_returned", person.psn_no)

    assert "退费¥30.00已原路退回" in sms.body
    assert "微信支付¥30.00" in sms.body  # the class C line was paid from the wallet
    assert "WeChat Pay ¥30.00" in sms.body_en
    assert back  # the HIS's answer is unchanged by the notice


def test_an_overdue_bill_paid_tells_that_the_line_is_unfrozen(service, his):
    person, _ = service.enrol()
    bill_id = bill_for(service, his, person, amount="50.00")
    service.advance(hours=72)
    run_due(service.container)
    assert bill(service, bill_id).status == "overdue"

    assert pay(service, login(service, person), bill_id).status_code == 201

    sms = _only(service, "line_unfrozen", person.psn_no)
    assert "信用就医额度已解冻" in sms.body
    assert sms.link == f"{BASE}/app/"


def test_bills_repaid_on_time_that_raise_the_line_tell_it(service, his):
    person, line = service.enrol(rating="B", contribution_months=24)
    headers = login(service, person)
    for _ in range(3):  # the seeded policy raises the line every third bill paid on time
        bill_id = bill_for(service, his, person, amount="10.00")
        assert pay(service, headers, bill_id, key=uuid.uuid4().hex).status_code == 201

    sms = _only(service, "line_raised", person.psn_no)
    assert f"由¥{line:.2f}提升至" in sms.body


def test_a_manager_frozen_by_a_relatives_overdue_bill_is_told_when_its_payment_unfreezes_them(
    service,
):
    family = make_family(service)
    own = Decimal(
        service.client.get("/v1/me/credit", headers=family.relative_auth).json()["available"]
    )
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, f"{own + 5:.2f}")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    service.advance(hours=73)
    run_due(service.container)
    assert bill(service, bill_id).status == "overdue"

    assert pay(service, family.manager_auth, bill_id).status_code == 201

    told = outbox(service, kind="line_unfrozen", psn_no=family.manager.psn_no)
    own = [m for m in told if m.body.startswith("【舒心就医】您的信用就医额度已解冻")]
    about_relative = [m for m in told if m.body.startswith("【舒心就医】您的亲属")]
    assert (
        sorted(m.channel for m in own)
        == sorted(m.channel for m in about_relative)
        == [
            "push",
            "sms",
        ]
    )


def test_where_the_scheme_never_freezes_managers_none_is_told_a_freeze_was_lifted(engine, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    scheme = seeds / "scheme.toml"
    scheme.write_text(
        scheme.read_text(encoding="utf-8").replace(
            "freeze_shared_on_overdue = true", "freeze_shared_on_overdue = false"
        ),
        encoding="utf-8",
    )
    service = build_service(engine, seeds_dir=seeds, account_balance="0.00")
    assert not service.container.scheme.family.freeze_shared_on_overdue
    service.add_hospital("H3", level=3)
    family = make_family(service)
    own = Decimal(
        service.client.get("/v1/me/credit", headers=family.relative_auth).json()["available"]
    )
    mdtrt_id, _ = charge(family.his, family.relative.psn_no, f"{own + 5:.2f}")
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    service.advance(hours=73)
    run_due(service.container)
    assert bill(service, bill_id).status == "overdue"
    manager = service.client.get("/v1/me/credit", headers=family.manager_auth).json()
    assert manager["status"] == "active"  # never frozen by the relative's bill

    assert pay(service, family.manager_auth, bill_id).status_code == 201

    told = outbox(service, kind="line_unfrozen", psn_no=family.manager.psn_no)
    # Told of the relative's line (theirs was frozen), never of their own (it never was).
    assert not [m for m in told if m.body.startswith("【舒心就医】您的信用就医额度已解冻")]
    assert sorted(m.channel for m in told if m.body.startswith("【舒心就医】您的亲属")) == [
        "push",
        "sms",
    ]
