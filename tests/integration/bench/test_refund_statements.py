"""What a refund before payment costs in SQL statements: the same however many lines it refunds.

Counted at the driver, as ``test_payment_statements`` counts a payment (transaction control
apart). The refunded lines' charges are reversed in one set-based batch (one read of the charges,
one ledger write), so refunding five lines of a bill sends what refunding one does; reversing
them one at a time cost a read and a ledger write per line (issue 18 item 2).
"""

from __future__ import annotations

from sqlalchemy import Engine

from tests.bench.support.statements import StatementLog, Tally
from tests.harness import HisClient, Service, build_service
from tests.integration.payments.support import AMOXICILLIN, bill_for

LINES = 6


def _bill(service: Service, his: HisClient) -> tuple[str, list[str]]:
    """An unpaid bill of ``LINES`` lines, each charged on the patient's own line."""
    person, _ = service.enrol(balc="0.00")
    prices = [str(10 + n) for n in range(LINES)]
    return bill_for(his, person.psn_no, *((AMOXICILLIN, price, "1") for price in prices))


def _refund(his: HisClient, log: StatementLog, bill_id: str, sns: list[str]) -> Tally:
    before = log.snapshot()
    refunded = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": sns, "reason": "检查取消"}
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "billed"  # a line is left: the same path both times
    return log.snapshot().since(before)


def test_a_refund_before_payment_sends_as_many_statements_for_five_lines_as_for_one(
    engine: Engine, statement_log: StatementLog
):
    service = build_service(engine)
    his = service.add_hospital("HRFND", level=3)
    warm_id, warm_sns = _bill(service, his)
    one_id, one_sns = _bill(service, his)
    many_id, many_sns = _bill(service, his)
    # The first refund opens what every refund shares; the two measured ones find it open.
    _refund(his, statement_log, warm_id, warm_sns[:1])

    one = _refund(his, statement_log, one_id, one_sns[:1])
    many = _refund(his, statement_log, many_id, many_sns[: LINES - 1])

    assert many.transactions == one.transactions
    assert many.statements == one.statements, (one.counts, many.counts)
    assert many.counts["SELECT ledger_transfers"] == one.counts["SELECT ledger_transfers"]
