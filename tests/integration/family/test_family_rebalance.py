"""The relative's own line first, after cancellations too (issue 16 item 2): a cancelled line's
room on the relative's line takes back what the visit's other lines held on the manager's."""

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
from tests.integration.payments.support import assert_ledger_balanced

D = Decimal
ITEM = "UNLISTED-ITEM"


def on_hold(service: Service, auth: dict[str, str]) -> Decimal:
    return D(credit(service, auth)["on_hold"])


def open_visit(family: Family) -> str:
    opened = family.his.open_visit(family.relative.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id: str = opened.json()["mdtrt_id"]
    return mdtrt_id


def test_cancelling_the_big_line_moves_the_small_lines_back_to_the_parents_own_line(
    service: Service,
) -> None:
    family = make_family(service)
    assert D(credit(service, family.relative_auth)["credit_line"]) == D("900.00")
    mdtrt_id = open_visit(family)
    posted = family.his.charge(
        mdtrt_id,
        (ITEM, "1000.00", "1"),
        (ITEM, "33.33", "1"),
        (ITEM, "33.33", "1"),
        (ITEM, "33.33", "1"),
    )
    assert posted.status_code == 201, posted.text
    assert on_hold(service, family.manager_auth) == D("199.99")
    big = posted.json()["fees"][0]["feedetl_sn"]

    cancelled = family.his.delete(f"/his/v1/visits/{mdtrt_id}/fees/{big}")
    assert cancelled.status_code == 200, cancelled.text
    assert on_hold(service, family.manager_auth) == 0
    assert on_hold(service, family.relative_auth) == D("99.99")

    bill = close(family.his, mdtrt_id)
    assert bill["medfee_sumamt"] == "99.99"
    ended = family.delete(f"/v1/family/members/{family.relative.psn_no}", family.manager_auth)
    assert ended.status_code == 200, ended.text
    assert_ledger_balanced(service)


def test_a_partly_freed_line_moves_only_what_fits_and_the_rest_stays_shared(
    service: Service,
) -> None:
    family = make_family(service)
    mdtrt_id = open_visit(family)
    posted = family.his.charge(
        mdtrt_id, (ITEM, "850.00", "1"), (ITEM, "30.00", "1"), (ITEM, "120.00", "1")
    )
    assert posted.status_code == 201, posted.text
    assert on_hold(service, family.manager_auth) == D("100.00")
    small = posted.json()["fees"][1]["feedetl_sn"]
    cancelled = family.his.delete(f"/his/v1/visits/{mdtrt_id}/fees/{small}")
    assert cancelled.status_code == 200, cancelled.text
    # 970.00 held: 900.00 on the parent's line, 70.00 still on the manager's.
    assert on_hold(service, family.relative_auth) == D("900.00")
    assert on_hold(service, family.manager_auth) == D("70.00")
    bill = close(family.his, mdtrt_id)
    assert bill["medfee_sumamt"] == "970.00"
    with service.container.uow() as uow:
        assert line_balances(uow.session, family.manager.psn_no).outstanding == D("70.00")
        assert line_balances(uow.session, family.relative.psn_no).outstanding == D("900.00")
    assert_ledger_balanced(service)


amounts = st.integers(min_value=1, max_value=60_000).map(lambda fen: D(fen) / 100)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.lists(amounts, min_size=1, max_size=3)),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
    ),
    min_size=1,
    max_size=7,
)


def held_on(service: Service, psn_no: str) -> Decimal:
    with service.container.uow() as uow:
        return line_balances(uow.session, psn_no).on_hold


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_the_managers_holds_are_what_the_parents_line_cannot_carry_whatever_the_order(
    service: Service, steps: list[tuple[str, object]]
) -> None:
    his, manager, relative = make_family_quietly(service)
    with service.container.uow() as uow:
        line = line_balances(uow.session, relative.psn_no).granted
    assert line == D("900.00")
    opened = his.open_visit(relative.psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]

    def manager_holds_what_the_line_cannot(held: dict[str, Decimal]) -> None:
        total = sum(held.values(), D(0))
        assert held_on(service, manager.psn_no) == max(D(0), total - line)
        assert held_on(service, relative.psn_no) == min(total, line)

    posted_and_cancelled(
        his, mdtrt_id, steps, item=ITEM, after_each=manager_holds_what_the_line_cannot
    )
    assert_ledger_balanced(service)
