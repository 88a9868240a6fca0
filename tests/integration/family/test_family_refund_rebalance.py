"""The relative's own line first, after refunds too (issue 16 item 2): a line refunded from a
closed, unpaid bill frees room on the relative's own line that takes back what the bill's other
lines carry on the manager's, in the refund's transaction; a refund after payment leaves nothing
on the manager's line either."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.billing.credit_line import line_balances
from tests.harness import Service
from tests.integration.family.support import (
    Family,
    close,
    credit,
    make_family,
    make_family_quietly,
    posted_and_cancelled,
)
from tests.integration.family.test_family_refunds import (
    pay_as_manager,
    reconciliation_balanced,
    refund,
)
from tests.integration.payments.support import assert_ledger_balanced, pay

D = Decimal
ITEM = "UNLISTED-ITEM"


def lines_of(service: Service, psn_no: str) -> tuple[Decimal, Decimal]:
    """What the patient's line carries: (outstanding, on hold)."""
    with service.container.uow() as uow:
        balances = line_balances(uow.session, psn_no)
        return balances.outstanding, balances.on_hold


def issue_bill(family: Family) -> tuple[str, list[str]]:
    """The issue's visit, closed: a 1000.00 line and three of 33.33 (the manager carries 199.99)."""
    opened = family.his.open_visit(family.relative.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    posted = family.his.charge(
        mdtrt_id,
        (ITEM, "1000.00", "1"),
        (ITEM, "33.33", "1"),
        (ITEM, "33.33", "1"),
        (ITEM, "33.33", "1"),
    )
    assert posted.status_code == 201, posted.text
    bill = close(family.his, mdtrt_id)
    assert bill["medfee_sumamt"] == "1099.99"
    return bill["bill_id"], [fee["feedetl_sn"] for fee in posted.json()["fees"]]


def end_link(family: Family) -> int:
    ended = family.delete(f"/v1/family/members/{family.relative.psn_no}", family.manager_auth)
    return ended.status_code


def test_refunding_the_big_line_of_an_unpaid_bill_moves_the_small_lines_to_the_parents_line(
    service: Service,
) -> None:
    family = make_family(service)
    assert D(credit(service, family.relative_auth)["credit_line"]) == D("900.00")
    manager_available = D(credit(service, family.manager_auth)["available"])
    bill_id, (big, *_small) = issue_bill(family)
    assert lines_of(service, family.manager.psn_no) == (D("199.99"), 0)
    assert lines_of(service, family.relative.psn_no) == (D("900.00"), 0)

    body = refund(family, bill_id, big)

    assert body["status"] == "billed"
    assert lines_of(service, family.manager.psn_no) == (0, 0)
    assert lines_of(service, family.relative.psn_no) == (D("99.99"), 0)
    assert D(credit(service, family.manager_auth)["available"]) == manager_available
    assert_ledger_balanced(service)
    reconciliation_balanced(family)  # the re-balance is no charge and no refund

    pay_as_manager(family, bill_id)
    assert lines_of(service, family.relative.psn_no) == (0, 0)
    assert lines_of(service, family.manager.psn_no) == (0, 0)
    assert end_link(family) == 200
    assert_ledger_balanced(service)
    reconciliation_balanced(family)


def test_after_such_a_refund_the_link_can_end_before_the_bill_is_paid(service: Service) -> None:
    family = make_family(service)
    bill_id, (big, *_small) = issue_bill(family)
    assert end_link(family) == 409  # the manager's line carries 199.99 of the bill

    refund(family, bill_id, big)

    assert end_link(family) == 200
    paid = pay(service, family.relative_auth, bill_id)
    assert paid.status_code == 201, paid.text
    assert lines_of(service, family.relative.psn_no) == (0, 0)
    assert lines_of(service, family.manager.psn_no) == (0, 0)
    assert_ledger_balanced(service)


def test_a_refund_that_frees_too_little_moves_what_fits_and_the_rest_stays_shared(
    service: Service,
) -> None:
    family = make_family(service)
    opened = family.his.open_visit(family.relative.psn_no)
    mdtrt_id = opened.json()["mdtrt_id"]
    posted = family.his.charge(
        mdtrt_id, (ITEM, "850.00", "1"), (ITEM, "30.00", "1"), (ITEM, "120.00", "1")
    )
    assert posted.status_code == 201, posted.text
    small = posted.json()["fees"][1]["feedetl_sn"]
    bill_id = close(family.his, mdtrt_id)["bill_id"]
    assert lines_of(service, family.manager.psn_no) == (D("100.00"), 0)

    refund(family, bill_id, small)

    # 970.00 billed: 900.00 on the parent's line, 70.00 still on the manager's.
    assert lines_of(service, family.relative.psn_no) == (D("900.00"), 0)
    assert lines_of(service, family.manager.psn_no) == (D("70.00"), 0)
    assert end_link(family) == 409
    pay_as_manager(family, bill_id)
    assert lines_of(service, family.manager.psn_no) == (0, 0)
    assert end_link(family) == 200
    assert_ledger_balanced(service)


def test_refunds_after_payment_leave_nothing_on_the_managers_line(service: Service) -> None:
    family = make_family(service, manager_balc="0.00")
    manager_available = D(credit(service, family.manager_auth)["available"])
    relative_available = D(credit(service, family.relative_auth)["available"])
    bill_id, (big, first, *rest) = issue_bill(family)
    pay_as_manager(family, bill_id)
    assert lines_of(service, family.manager.psn_no) == (0, 0)

    body = refund(family, bill_id, big)

    assert body["status"] == "settled"
    assert lines_of(service, family.manager.psn_no) == (0, 0)
    assert lines_of(service, family.relative.psn_no) == (0, 0)
    assert end_link(family) == 200  # nothing of the relative's is left on the manager's line
    refund(family, bill_id, first)
    whole = refund(family, bill_id, *rest)
    assert whole["status"] == "refunded"
    assert D(credit(service, family.manager_auth)["available"]) == manager_available
    assert D(credit(service, family.relative_auth)["available"]) == relative_available
    assert_ledger_balanced(service)


# -- any order ----------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=60_000).map(lambda fen: D(fen) / 100)
before_close = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.lists(amounts, min_size=1, max_size=3)),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
    ),
    min_size=1,
    max_size=5,
)
#: Each refund names lines of the bill by position (a request may name several).
refunds = st.lists(st.lists(st.integers(0, 20), min_size=1, max_size=3), max_size=4)


def assert_split_only_by_what_remains(
    service: Service, manager: str, relative: str, remaining: dict[str, Decimal]
) -> None:
    """The manager carries what the parent's 900.00 cannot, whatever came before; no line is
    overspent; the ledger balances (each line's parts sum to it: ``verify_ledger``)."""
    total = sum(remaining.values(), D(0))
    line = D("900.00")
    assert lines_of(service, relative) == (min(total, line), 0)
    assert lines_of(service, manager) == (max(D(0), total - line), 0)
    with service.container.uow() as uow:
        assert line_balances(uow.session, relative).available >= 0
        assert line_balances(uow.session, manager).available >= 0
    assert_shares_sum_to_each_line(service, remaining)
    assert_ledger_balanced(service)


def assert_shares_sum_to_each_line(service: Service, remaining: dict[str, Decimal]) -> None:
    from sqlalchemy import select

    from settlement.billing.family_tables import SharedHold
    from settlement.billing.tables import FeeLine
    from settlement.ledger.ledger import get_transfer
    from settlement.usecases.family.sharing import line_hold_ids

    with service.container.uow() as uow:
        session = uow.session
        for sn, amount in remaining.items():
            line = session.scalars(select(FeeLine).where(FeeLine.feedetl_sn == sn)).one()
            shared = list(
                session.scalars(
                    select(SharedHold).where(
                        SharedHold.mdtrt_id == line.mdtrt_id, SharedHold.feedetl_sn == sn
                    )
                )
            )
            charges = [
                get_transfer(session, f"post:{hold}") for hold in line_hold_ids(line, shared)
            ]
            assert sum((charge.amount for charge in charges if charge), D(0)) == amount
            assert all(row.amount_fen > 0 for row in shared)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=before_close, requests=refunds)
def test_after_any_posts_cancels_and_refunds_the_split_depends_only_on_the_remaining_lines(
    service: Service, steps: list[tuple[str, object]], requests: list[list[int]]
) -> None:
    his, manager, relative = make_family_quietly(service)
    opened = his.open_visit(relative.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    remaining = posted_and_cancelled(his, mdtrt_id, steps, item=ITEM)
    if not remaining:
        return
    bill_id = close(his, mdtrt_id)["bill_id"]
    assert_split_only_by_what_remains(service, manager.psn_no, relative.psn_no, remaining)
    for positions in requests:
        if not remaining:
            break
        sns = sorted({sorted(remaining)[index % len(remaining)] for index in positions})
        answer = his.post(f"/his/v1/bills/{bill_id}/refunds", {"feedetl_sn": sns, "reason": "退药"})
        assert answer.status_code == 200, answer.text
        for sn in sns:
            del remaining[sn]
        assert_split_only_by_what_remains(service, manager.psn_no, relative.psn_no, remaining)


def test_a_refund_that_takes_an_overdue_bill_off_the_managers_line_unfreezes_and_tells_them(
    service: Service,
) -> None:
    from tests.integration.scheduler.support import outbox

    family = make_family(service)
    bill_id, (big, *_small) = issue_bill(family)
    assert service.client.post("/sandbox/v1/clock/advance", json={"hours": 73}).status_code == 200
    assert service.client.post("/sandbox/v1/scheduler/run").status_code == 200
    assert credit(service, family.manager_auth)["status"] == "frozen"  # the shared bill

    body = refund(family, bill_id, big)

    assert body["status"] == "overdue"  # 99.99 still overdue, all of it on the relative's line
    assert credit(service, family.relative_auth)["status"] == "frozen"
    assert credit(service, family.manager_auth)["status"] == "active"
    assert family.his.open_visit(family.manager.psn_no).status_code == 201
    told = outbox(service, kind="line_unfrozen", psn_no=family.manager.psn_no)
    assert sorted(message.channel for message in told) == ["push", "sms"]
    assert_ledger_balanced(service)
