"""A bill the insurance accounts cover whose settlement at close failed is reminded of what the
patient would pay now, ¥0.00 from the wallet, and that the settlement is being retried: not asked
for the bill's total (issue 18 item 2's follow-up)."""

from __future__ import annotations

from settlement.scheduler import run_due
from tests.integration.payments.support import HEALTH_ADVICE, bill_for
from tests.integration.payments.test_covered_retries import DownPlatform, close_while_down
from tests.integration.scheduler.support import outbox


def reminders_to(service, psn_no: str):
    return [m for m in outbox(service, kind="remind_close", psn_no=psn_no)]


def test_a_covered_bill_being_retried_is_reminded_of_nothing_to_pay_not_of_its_total(
    service, his, monkeypatch
):
    covered, _, _, answer = close_while_down(service, his, monkeypatch)
    owing, _ = service.enrol(balc="0.00")
    bill_for(his, owing.psn_no, (HEALTH_ADVICE, "30", "1"))
    with monkeypatch.context() as down:
        down.setattr(service.container, "insurance_platform", DownPlatform)
        run = run_due(service.container)
    assert run.sweeps["settle_covered"].counts == {"error": 1}  # still failing: retried later
    assert run.sweeps["reminders"].counts == {"remind_close": 2}

    told = reminders_to(service, covered.psn_no)
    assert sorted(m.channel for m in told) == ["push", "sms"]
    for message in told:
        assert "自付¥0.00" in message.body and "正在自动重试" in message.body, message.body
        assert "前还款" not in message.body, message.body  # no payment asked of the wallet
        assert message.body_en is not None
        assert "¥0.00 to pay from the wallet" in message.body_en, message.body_en
        assert "being retried" in message.body_en, message.body_en
    # A bill the wallet owes in the same batch is reminded as ever, of its total.
    for message in reminders_to(service, owing.psn_no):
        assert "¥30.00" in message.body and "前还款" in message.body, message.body

    # Once the platform answers, the bill settles and is reminded of nothing more.
    service.advance(hours=60)
    later = run_due(service.container)
    assert later.sweeps["settle_covered"].ids == [answer["bill_id"]]
    assert {m.kind for m in outbox(service, psn_no=covered.psn_no)} >= {"settled_by_insurance"}
    assert len(reminders_to(service, covered.psn_no)) == 2
    assert not [m for m in outbox(service, psn_no=covered.psn_no) if m.kind.startswith("remind_2")]
