"""What a refund costs in SQL statements: the same however many lines it refunds.

Counted at the driver, as ``test_payment_statements`` counts a payment (transaction control
apart). The refunded lines' charges are reversed in one set-based batch (one read of the charges,
one ledger write), so refunding five lines of a bill sends what refunding one does; reversing
them one at a time cost a read and a ledger write per line (issue 18 item 2).

After settlement, and before it in ``visit_end``, the refund reads the visit, its lines and
their shared holds in one statement and sends the lines' marks, the accumulators, the
replacement settlement, the wallet order and the bill's move together (one statement on
PostgreSQL): a refund after settlement sent 35 statements on PostgreSQL (39 on SQLite), a
``visit_end`` refund before it 24 (27), counted with the request's own (its signature's nonce,
its idempotency record).
"""

from __future__ import annotations

from sqlalchemy import Engine

from tests.bench.support.statements import StatementLog, Tally
from tests.harness import HisClient, Service, build_service
from tests.integration.payments.support import AMOXICILLIN, bill_for, login, pay, use_mode

LINES = 6


def _bill(service: Service, his: HisClient) -> tuple[str, list[str]]:
    """An unpaid bill of ``LINES`` lines, each charged on the patient's own line."""
    person, _ = service.enrol(balc="0.00")
    prices = [str(10 + n) for n in range(LINES)]
    return bill_for(his, person.psn_no, *((AMOXICILLIN, price, "1") for price in prices))


def _refund(
    his: HisClient, log: StatementLog, bill_id: str, sns: list[str], *, status: str = "billed"
) -> Tally:
    before = log.snapshot()
    refunded = his.post(
        f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": sns, "reason": "检查取消"}
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == status  # a line is left: the same path both times
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


#: A refund after settlement, and a ``visit_end`` refund before it, in statements at most.
AFTER_CEILING = {"postgresql": 25, "sqlite": 34}
VISIT_END_CEILING = {"postgresql": 21, "sqlite": 24}


def _paid_bill(service: Service, his: HisClient) -> tuple[str, list[str]]:
    """A bill of ``LINES`` lines, paid (the fund, then the wallet: the balance is nil)."""
    person, _ = service.enrol(balc="0.00")
    prices = [str(10 + n) for n in range(LINES)]
    bill_id, sns = bill_for(his, person.psn_no, *((AMOXICILLIN, price, "1") for price in prices))
    paid = pay(service, login(service, person), bill_id)
    assert paid.status_code in (200, 201), paid.text
    return bill_id, sns


def test_a_refund_after_settlement_sends_as_many_statements_for_five_lines_as_for_one(
    engine: Engine, statement_log: StatementLog
):
    service = build_service(engine)
    his = service.add_hospital("HRFND", level=3)
    bills = [_paid_bill(service, his) for _ in range(3)]
    _refund(his, statement_log, bills[0][0], bills[0][1][:1], status="settled")

    one = _refund(his, statement_log, bills[1][0], bills[1][1][:1], status="settled")
    many = _refund(his, statement_log, bills[2][0], bills[2][1][: LINES - 1], status="settled")

    assert many.statements == one.statements, (one.counts, many.counts)
    assert one.statements <= AFTER_CEILING[engine.dialect.name], one.counts
    assert one.counts["SELECT fee_lines"] == one.counts["SELECT family_shared_holds"] == 0
    if engine.dialect.name == "postgresql":  # sent together: one statement
        assert one.counts["INSERT bill_settlements"] == 0, one.counts


def test_a_visit_end_refund_before_payment_sends_as_many_statements_for_five_lines_as_for_one(
    engine: Engine, statement_log: StatementLog
):
    service = build_service(engine)
    use_mode(service, "visit_end")
    his = service.add_hospital("HRFND", level=3)
    bills = [_bill(service, his) for _ in range(3)]
    _refund(his, statement_log, bills[0][0], bills[0][1][:1])

    one = _refund(his, statement_log, bills[1][0], bills[1][1][:1])
    many = _refund(his, statement_log, bills[2][0], bills[2][1][: LINES - 1])

    assert many.statements == one.statements, (one.counts, many.counts)
    assert one.statements <= VISIT_END_CEILING[engine.dialect.name], one.counts
    assert one.counts["SELECT family_shared_holds"] == 0, one.counts
