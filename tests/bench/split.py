"""Splits per second for 10-line and 200-line bills, on one core.

Run: ``python -m tests.bench split [--runs N] [--seconds S] [--profile]``.

For each bill size it measures, median of several runs:
- ``split``: :func:`insurance.split.settle` on already priced lines (what 2206/2207 cost);
- ``price+split``: pricing every line (2204) and then the split;
- ``baseline``: the bare Decimal arithmetic of summing the four parts of every line, measured in
  the same run, so the ratio says how much the split costs above the arithmetic it cannot avoid.
Target: at least 20,000 ten-line splits per second. ``--profile`` prints a cProfile of the split.
The last line is one JSON object: rates per bill size and each one's cost in baselines.
Rates are printed with plain division; no money is involved in that arithmetic.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from insurance.catalogue import Catalogue, default_catalogue_path, load_catalogue
from insurance.policy import Policy, default_policy_folder, load_policies
from insurance.pricing import FeeLine, PricedLine, price_line
from insurance.split import Accumulators, RelativeAccount, settle

TARGET_TEN_LINE = 20_000


def _pin_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return f"pinned to CPU {min(os.sched_getaffinity(0))}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity here)"


def _bill(size: int) -> list[FeeLine]:
    """A deterministic mix of the seeded catalogue: classes A, B, C, capped items, an unlisted one."""
    catalogue = load_catalogue(default_catalogue_path())
    codes = sorted(catalogue)
    lines = []
    for i in range(size):
        code = codes[(i * 37) % len(codes)] if i % 17 else "UNLISTED-LOCAL-ITEM"
        pric = Decimal(1234 + i * 977 % 50_000).scaleb(-2)
        cnt = Decimal(1 + i % 3) if i % 5 else Decimal("0.5")
        lines.append(FeeLine(str(i + 1), code, f"item {i}", pric, cnt))
    return lines


def _rate(func: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``func`` over about ``seconds``."""
    calls, started = 0, time.perf_counter()
    batch = 50
    while True:
        for _ in range(batch):
            func()
        calls += batch
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed


def _rates(
    size: int,
    split: Callable[[list[PricedLine]], object],
    catalogue: Catalogue,
    policy: Policy,
    *,
    runs: int,
    seconds: float,
) -> dict[str, float]:
    """Median calls per second of the baseline, the split and pricing plus split of a bill."""
    fees = _bill(size)
    priced = [price_line(fee, catalogue, policy) for fee in fees]

    def baseline() -> object:
        total = Decimal(0)
        for line in priced:
            total += line.fulamt_ownpay_amt
            total += line.overlmt_amt
            total += line.preselfpay_amt
            total += line.inscp_scp_amt
        return total

    def split_only() -> object:
        return split(priced)

    def price_and_split() -> object:
        return split([price_line(fee, catalogue, policy) for fee in fees])

    return {
        name: statistics.median(_rate(func, seconds) for _ in range(runs))
        for name, func in (
            ("baseline", baseline),
            ("split", split_only),
            ("price+split", price_and_split),
        )
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench split")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one run")
    parser.add_argument("--profile", action="store_true", help="cProfile the 10-line split")
    args = parser.parse_args(argv)

    print(f"insurance split benchmark: {_pin_one_core()}, median of {args.runs} runs")
    book = load_policies(default_policy_folder())
    catalogue = load_catalogue(default_catalogue_path())
    visit = date(2026, 3, 16)
    policy = book.in_force(visit)
    accumulators = Accumulators(2026, Decimal("120.00"), Decimal("300.00"))
    relatives = (RelativeAccount("R1", "parent", Decimal("150.00")),)

    def split(lines: list[PricedLine]) -> object:
        return settle(
            lines,
            policy=policy,
            hospital_level=2,
            psn_type="11",
            accumulators=accumulators,
            account_balance=Decimal("80.00"),
            relatives=relatives,
            visit_date=visit,
        )

    ok = True
    figures: dict[str, object] = {"bench": "split"}
    print(f"{'lines':>5}  {'measure':<12} {'per second':>12}  {'vs baseline':>11}")
    for size in (10, 200):
        rates = _rates(size, split, catalogue, policy, runs=args.runs, seconds=args.seconds)
        for name, rate in rates.items():
            ratio = rates["baseline"] / rate
            print(f"{size:>5}  {name:<12} {rate:>12,.0f}  {ratio:>10.1f}x")
        figures[f"lines_{size}"] = {
            **{f"{name.replace('+', '_')}_per_s": round(rate) for name, rate in rates.items()},
            "split_cost_x_baseline": round(rates["baseline"] / rates["split"], 2),
            "price_split_cost_x_baseline": round(rates["baseline"] / rates["price+split"], 2),
        }
        if size == 10:
            ok = rates["split"] >= TARGET_TEN_LINE
            figures["splits_per_s"] = round(rates["split"])
    print(
        f"target: >= {TARGET_TEN_LINE:,} ten-line splits per second: {'met' if ok else 'NOT met'}"
    )

    if args.profile:
        priced = [price_line(fee, catalogue, policy) for fee in _bill(10)]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20_000):
            split(priced)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    figures["target_met"] = ok
    print(json.dumps(figures))
    return 0 if ok else 1
