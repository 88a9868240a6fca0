"""A patient authorises auto-pay over the API: the wallet withholding agreement (无感支付)."""

from __future__ import annotations

from settlement.scheduler import run_due
from tests.integration.scheduler.support import bill, bill_for


def test_a_patient_authorises_a_wallet_and_auto_pay_settles_the_next_bill(service, his):
    person = service.add_person()
    service.sign(person, autopay="on_close")
    headers = service.login(person)
    assert service.client.get("/v1/wallets/alipay/withholding", headers=headers).json() == {
        "provider": "alipay",
        "status": "none",
    }

    authorised = service.client.put("/v1/wallets/alipay/withholding", headers=headers)
    again = service.client.put("/v1/wallets/alipay/withholding", headers=headers)

    assert authorised.status_code == again.status_code == 200, authorised.text
    assert authorised.json() == {"provider": "alipay", "status": "active"}
    assert service.client.get("/v1/wallets/alipay/withholding", headers=headers).json() == {
        "provider": "alipay",
        "status": "active",
    }
    bill_id = bill_for(service, his, person, amount="300.00")
    assert run_due(service.container).ids("autopay") == [bill_id]
    assert bill(service, bill_id).status == "settled"


def test_a_revoked_authority_is_not_charged(service, his):
    # An empty account: the bill leaves the wallet a part, so only auto-pay could settle it.
    person = service.add_person(balc="0.00")
    service.sign(person, autopay="on_close")
    headers = service.login(person)
    assert service.client.put("/v1/wallets/wechat/withholding", headers=headers).status_code == 200
    revoked = service.client.delete("/v1/wallets/wechat/withholding", headers=headers)
    assert revoked.json() == {"provider": "wechat", "status": "none"}
    bill_id = bill_for(service, his, person)
    assert run_due(service.container).ids("autopay") == []
    assert bill(service, bill_id).status == "billed"


def test_authorising_needs_a_patient_token_and_a_known_wallet(service):
    person = service.add_person()
    headers = service.login(person)
    assert service.client.put("/v1/wallets/alipay/withholding").status_code == 401
    unknown = service.client.put("/v1/wallets/paypal/withholding", headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "validation_error"


def test_one_patients_authority_is_not_anothers(service):
    owner, other = service.add_person(), service.add_person()
    service.client.put("/v1/wallets/alipay/withholding", headers=service.login(owner))
    seen = service.client.get("/v1/wallets/alipay/withholding", headers=service.login(other))
    assert seen.json()["status"] == "none"
