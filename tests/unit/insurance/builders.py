"""Small builders shared by the insurance tests: the demo policy, a test catalogue, fee lines."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from insurance.catalogue import Catalogue, CatalogueItem
from insurance.policy import Policy, PolicyBook, default_policy_folder, load_policies
from insurance.pricing import FeeLine, PricedLine, price_line
from insurance.split import Accumulators, RelativeAccount, Settlement, settle

VISIT = date(2026, 3, 16)

# Codes of the test catalogue, by what they exercise.
CLASS_A = "A-PLAIN"
CLASS_A_CAPPED = "A-CAP-10"  # price cap 10.00
CLASS_B = "B-DEFAULT"  # the policy's default first self-pay share (10 %)
CLASS_B_OWN = "B-OWN-20"  # its own share, 20 %
CLASS_B_CAPPED = "B-CAP-50"  # default share and a price cap 50.00
CLASS_C = "C-LISTED"
UNLISTED = "NOT-IN-THE-CATALOGUE"
CODES = (CLASS_A, CLASS_A_CAPPED, CLASS_B, CLASS_B_OWN, CLASS_B_CAPPED, CLASS_C, UNLISTED)


@functools.cache
def demo_book() -> PolicyBook:
    return load_policies(default_policy_folder())


def demo_policy(on: date = VISIT) -> Policy:
    return demo_book().in_force(on)


def policy_with(**changes: object) -> Policy:
    """The demo policy with some settings changed."""
    return dataclasses.replace(demo_policy(), **changes)  # type: ignore[arg-type]


@functools.cache
def sample_catalogue() -> Catalogue:
    return Catalogue(
        [
            CatalogueItem(CLASS_A, "甲类项目", "A"),
            CatalogueItem(CLASS_A_CAPPED, "甲类限价项目", "A", pric_uplmt_amt=Decimal("10.00")),
            CatalogueItem(CLASS_B, "乙类项目", "B"),
            CatalogueItem(CLASS_B_OWN, "乙类自付20%", "B", selfpay_prop=Decimal("0.20")),
            CatalogueItem(CLASS_B_CAPPED, "乙类限价", "B", pric_uplmt_amt=Decimal("50.00")),
            CatalogueItem(CLASS_C, "丙类项目", "C"),
        ]
    )


def fee(sn: str, code: str, pric: str | int, cnt: str | int = 1) -> FeeLine:
    return FeeLine(sn, code, f"item {sn}", Decimal(pric), Decimal(cnt))


def priced(sn: str, code: str, pric: str | int, cnt: str | int = 1, **policy: object) -> PricedLine:
    chosen = policy_with(**policy) if policy else demo_policy()
    return price_line(fee(sn, code, pric, cnt), sample_catalogue(), chosen)


def a_line(amount: str, sn: str = "1") -> PricedLine:
    """A fully in-scope class A line of ``amount``."""
    return priced(sn, CLASS_A, amount)


def split(
    lines: Sequence[PricedLine],
    *,
    level: int = 1,
    psn_type: str = "11",
    deductible_used: str = "0.00",
    hifp_paid: str = "0.00",
    balance: str = "0.00",
    relatives: Sequence[RelativeAccount] = (),
    policy: Policy | None = None,
    visit_date: date = VISIT,
) -> Settlement:
    chosen = policy if policy is not None else demo_policy(visit_date)
    return settle(
        lines,
        policy=chosen,
        hospital_level=level,
        psn_type=psn_type,
        accumulators=Accumulators(
            chosen.policy_year(visit_date), Decimal(deductible_used), Decimal(hifp_paid)
        ),
        account_balance=Decimal(balance),
        relatives=relatives,
        visit_date=visit_date,
    )


def money(settlement: Settlement) -> dict[str, str]:
    """The ``setlinfo`` in its contract form, for readable assertions."""
    return settlement.setlinfo.as_dict()
