"""What-if for insurance staff: ``shuxin split --bill F.json [--policy P] [--catalogue C] [--json]``

Prices the bill's lines and splits it under the regional policy, changing nothing anywhere, and
prints the priced lines and the ``setlinfo`` as a readable table (or JSON). The bill file::

    {
      "region_code": "371400",             // optional when the policies cover one region
      "visit_date": "2026-03-16",
      "hospital_level": 2,                 // 1, 2 or 3
      "psn_type": "11",                    // 11 in service, 12 retired
      "balc": "120.00",                    // personal account balance before
      "ytd": {"act_pay_dedc": "50.00", "hifp_pay": "0.00"},   // this policy year so far
      "relatives": [{"psn_no": "P2", "relation": "parent", "balc": "300.00"}],  // optional
      "fees": [{"feedetl_sn": "1", "med_list_codg": "...", "item_name": "...",
                "pric": "12.50", "cnt": "2"}]
    }

Amounts are JSON strings or numbers with at most 2 places (``pric`` 6, ``cnt`` 4); a number is
read as a decimal, never as a binary float. See ``seeds/examples/bill.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from insurance.catalogue import default_catalogue_path, load_catalogue
from insurance.errors import InsuranceError, InvalidFeeLineError
from insurance.money import format_amount
from insurance.policy import default_policy_folder, load_policies
from insurance.pricing import FeeLine, PricedLine, price_line
from insurance.split import Accumulators, RelativeAccount, Settlement, settle
from insurance.values import parse_money

_LABELS = {
    "medfee_sumamt": "医疗费总额 total",
    "fulamt_ownpay_amt": "全自费 class C / unlisted",
    "overlmt_selfpay": "超限价自费 over the price cap",
    "preselfpay_amt": "先行自付 class B first share",
    "inscp_scp_amt": "符合范围 in scope",
    "act_pay_dedc": "起付线 deductible consumed",
    "hifp_pay": "统筹基金 pooled fund",
    "pool_prop_selfpay": "统筹比例 pooled ratio",
    "fund_pay_sumamt": "基金支付 fund total",
    "psn_part_amt": "个人负担 personal share",
    "acct_pay": "个人账户 account (incl. mutual aid)",
    "acct_mulaid_pay": "共济支付 mutual aid",
    "psn_cash_pay": "现金 wallet",
    "balc": "账户余额 balance after",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shuxin split",
        description="Price a bill and split it under the regional policy (changes nothing).",
    )
    parser.add_argument("--bill", required=True, type=Path, help="the bill, as JSON")
    parser.add_argument(
        "--policy", type=Path, help="a policy TOML file or folder (default: seeds/policies)"
    )
    parser.add_argument(
        "--catalogue", type=Path, help="catalogue CSV (default: seeds/catalogue.csv)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the what-if; returns 0, or 1 with a message naming what is wrong in the input."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    stdout = sys.stdout if out is None else out
    try:
        settlement = run(
            bill_path=args.bill,
            policy_path=args.policy or default_policy_folder(),
            catalogue_path=args.catalogue or default_catalogue_path(),
        )
    except InsuranceError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        return 1
    if args.json:
        print(settlement.to_json(), file=stdout)
    else:
        print(render(settlement), file=stdout)
    return 0


def run(*, bill_path: Path, policy_path: Path, catalogue_path: Path) -> Settlement:
    """Load the policy, the catalogue and the bill; price and split it."""
    try:
        bill = json.loads(bill_path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, ValueError) as error:
        raise InvalidFeeLineError(f"{bill_path}: cannot read the bill: {error}") from None
    if not isinstance(bill, dict):
        raise InvalidFeeLineError(f"{bill_path}: the bill must be a JSON object")
    book = load_policies(policy_path)
    catalogue = load_catalogue(catalogue_path)
    visit_date = _date(_need(bill, "visit_date"))
    policy = book.in_force(visit_date, region_code=bill.get("region_code"))
    ytd = bill.get("ytd") or {}
    accumulators = Accumulators(
        policy.policy_year(visit_date),
        parse_money(ytd.get("act_pay_dedc", "0"), name="ytd.act_pay_dedc"),
        parse_money(ytd.get("hifp_pay", "0"), name="ytd.hifp_pay"),
    )
    relatives = [
        RelativeAccount(
            str(_need(r, "psn_no")),
            str(_need(r, "relation")),
            parse_money(_need(r, "balc"), name="relatives.balc"),
        )
        for r in bill.get("relatives") or []
    ]
    fees = _need(bill, "fees")
    if not isinstance(fees, list):
        raise InvalidFeeLineError("fees must be a list of fee lines", field="fees")
    lines = [
        price_line(
            FeeLine(
                str(_need(fee, "feedetl_sn")),
                str(_need(fee, "med_list_codg")),
                str(fee.get("item_name", "")),
                _need(fee, "pric"),
                _need(fee, "cnt"),
            ),
            catalogue,
            policy,
        )
        for fee in fees
    ]
    level = _need(bill, "hospital_level")
    if isinstance(level, str) and level.isdigit():
        level = int(level)
    return settle(
        lines,
        policy=policy,
        hospital_level=level,
        psn_type=str(_need(bill, "psn_type")),
        accumulators=accumulators,
        account_balance=parse_money(_need(bill, "balc"), name="balc"),
        relatives=relatives,
        visit_date=visit_date,
    )


def _need(data: Any, key: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise InvalidFeeLineError(f"the bill needs {key}", field=key)
    return data[key]


def _date(value: object) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidFeeLineError(
            f"visit_date must be YYYY-MM-DD, not {value!r}", field="visit_date"
        ) from None


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def row_text(cells: Sequence[str]) -> str:
        padded = (
            _pad(cell, width, right=i in right)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded)

    lines = [row_text(headers), "  ".join("-" * w for w in widths)]
    lines += [row_text(row) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _line_row(line: PricedLine) -> list[str]:
    name = line.item_name if len(line.item_name) <= 24 else line.item_name[:23] + "…"
    return [
        line.feedetl_sn,
        line.med_list_codg,
        name,
        str(line.pric),
        str(line.cnt),
        format_amount(line.det_item_fee_sumamt),
        line.chrgitm_lv + (" unlisted" if line.unlisted else ""),
        str(line.selfpay_prop),
        format_amount(line.fulamt_ownpay_amt),
        format_amount(line.overlmt_amt),
        format_amount(line.preselfpay_amt),
        format_amount(line.inscp_scp_amt),
    ]


def render(settlement: Settlement) -> str:
    """The priced lines, the ``setlinfo``, the mutual aid and the accumulators, as text tables."""
    policy = settlement.policy
    head = (
        f"policy {policy.describe()}  hospital level {settlement.hospital_level}  "
        f"psn_type {settlement.psn_type}  visit {settlement.visit_date.isoformat()}  "
        f"policy year {settlement.accumulators.policy_year}"
    )
    lines = _table(
        [
            "feedetl_sn",
            "med_list_codg",
            "item_name",
            "pric",
            "cnt",
            "det_item_fee_sumamt",
            "chrgitm_lv",
            "selfpay_prop",
            "fulamt_ownpay_amt",
            "overlmt_amt",
            "preselfpay_amt",
            "inscp_scp_amt",
        ],
        [_line_row(line) for line in settlement.lines],
        right={3, 4, 5, 7, 8, 9, 10, 11},
    )
    info = settlement.setlinfo.as_dict()
    setl = _table(
        ["setlinfo", "", "amount"],
        [[name, _LABELS[name], value] for name, value in info.items()],
        right={2},
    )
    parts = [head, "", lines, "", setl]
    if settlement.mutual_aid:
        parts += [
            "",
            _table(
                ["relative psn_no", "relation", "acct_mulaid_pay", "balc after"],
                [
                    [a.psn_no, a.relation, format_amount(a.amount), format_amount(a.balc)]
                    for a in settlement.mutual_aid
                ],
                right={2, 3},
            ),
        ]
    before, after = settlement.accumulators_before, settlement.accumulators
    parts += [
        "",
        _table(
            ["accumulators", "before", "after", "policy limit"],
            [
                [
                    "deductible used (act_pay_dedc)",
                    format_amount(before.deductible_used),
                    format_amount(after.deductible_used),
                    format_amount(policy.deductible),
                ],
                [
                    "pooled fund paid (hifp_pay)",
                    format_amount(before.hifp_paid),
                    format_amount(after.hifp_paid),
                    format_amount(policy.cap(settlement.psn_type)),
                ],
            ],
            right={1, 2, 3},
        ),
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
