"""``shuxin ledger verify``: recompute every balance from the transfers and check the invariants.

Checked, all in integer fen:

- each account's four stored balances (a striped account's row plus its stripes) equal those
  recomputed from the transfers (pending = the pending transfers not yet posted or voided;
  posted = single-phase transfers plus posts);
- the ledger is zero-sum: Σ debits_pending = Σ credits_pending and Σ debits_posted =
  Σ credits_posted;
- every limited account is within its limit, pending amounts included;
- every post or void matches the pending transfer it resolves (same accounts; a post no more than
  the hold, a void exactly the hold).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, Table, and_, func, select
from sqlalchemy.orm import Session

from insurance.money import from_fen
from settlement.foundation.progress import NO_PROGRESS, Progress
from settlement.ledger.tables import LedgerAccount, LedgerAccountStripe, LedgerTransfer

BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@dataclass(frozen=True)
class AccountProblem:
    """One account whose stored state disagrees with its transfers or its limit."""

    account_id: int
    code: str
    problem: str


@dataclass
class LedgerReport:
    """The verdict of :func:`verify_ledger`; ``ok`` is true when nothing is off."""

    accounts: int = 0
    transfers: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    problems: list[AccountProblem] = field(default_factory=list)
    ledger_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.ledger_problems

    def render(self) -> str:
        """A human summary: totals, then every problem, one a line."""
        lines = [
            f"ledger: {self.accounts} accounts, {self.transfers} transfers",
            "  "
            + " · ".join(
                f"{name.replace('_', ' ')} {from_fen(self.totals.get(name, 0))}"
                for name in BALANCES
            ),
        ]
        lines += [f"  ledger: {problem}" for problem in self.ledger_problems]
        lines += [
            f"  account {problem.account_id} {problem.code}: {problem.problem}"
            for problem in self.problems
        ]
        lines.append("balanced" if self.ok else f"NOT BALANCED: {self.problem_count} problem(s)")
        return "\n".join(lines)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + len(self.ledger_problems)


@dataclass(frozen=True)
class _Statements:
    count: Select[int]
    account_count: Select[int]
    sums: tuple[tuple[str, Select[int, int]], ...]
    accounts: Select[Any]
    mismatched: Select[str, str]


@cache
def _statements() -> _Statements:
    """Built once: constructing these per call costs more than running them on a small ledger."""
    accounts = cast(Table, LedgerAccount.__table__)
    transfers = cast(Table, LedgerTransfer.__table__)
    resolution = transfers.alias("resolution")
    posted = (
        select(transfers.c.debit_account_id, transfers.c.credit_account_id, transfers.c.amount)
        .where(transfers.c.kind.in_(("single_phase", "post_pending")))
        .subquery("posted")
    )
    open_pending = (
        select(transfers.c.debit_account_id, transfers.c.credit_account_id, transfers.c.amount)
        .select_from(transfers.outerjoin(resolution, resolution.c.pending_id == transfers.c.id))
        .where(and_(transfers.c.kind == "pending", resolution.c.id.is_(None)))
        .subquery("open_pending")
    )
    # Grouped in the database: verify must stay cheap on a ledger of millions of transfers.
    sums = tuple(
        (
            f"{side}_{bucket}",
            select(source.c[column], func.sum(source.c.amount)).group_by(source.c[column]),
        )
        for bucket, source in (("posted", posted), ("pending", open_pending))
        for side, column in (("debits", "debit_account_id"), ("credits", "credit_account_id"))
    )
    pending = transfers.alias("pending")
    mismatched = (
        select(transfers.c.id, transfers.c.kind)
        .select_from(transfers.join(pending, pending.c.id == transfers.c.pending_id))
        .where(
            (pending.c.kind != "pending")
            | (pending.c.debit_account_id != transfers.c.debit_account_id)
            | (pending.c.credit_account_id != transfers.c.credit_account_id)
            | ((transfers.c.kind == "post_pending") & (transfers.c.amount > pending.c.amount))
            | ((transfers.c.kind == "void_pending") & (transfers.c.amount != pending.c.amount))
        )
        .order_by(transfers.c.id)
    )
    return _Statements(
        count=select(func.count()).select_from(transfers),
        account_count=select(func.count()).select_from(accounts),
        sums=sums,
        accounts=_accounts_with_stripes(accounts).order_by(accounts.c.id),
        mismatched=mismatched,
    )


def _accounts_with_stripes(accounts: Table) -> Select[Any]:
    """Every account with its stripes added (a striped account's balance is spread over them)."""
    stripes = cast(Table, LedgerAccountStripe.__table__)
    added = (
        select(stripes.c.account_id, *(func.sum(stripes.c[name]).label(name) for name in BALANCES))
        .group_by(stripes.c.account_id)
        .subquery("stripes")
    )
    return select(
        *(column for column in accounts.c if column.name not in BALANCES),
        *((accounts.c[name] + func.coalesce(added.c[name], 0)).label(name) for name in BALANCES),
    ).select_from(accounts.outerjoin(added, added.c.account_id == accounts.c.id))


#: Accounts checked between two reports of progress (a report per row would cost more than it).
PROGRESS_EVERY = 1000


def verify_ledger(session: Session, *, progress: Progress = NO_PROGRESS) -> LedgerReport:
    """Recompute the ledger from its transfers and report every disagreement (read-only)."""
    statements = _statements()
    report = LedgerReport()
    progress.stage("summing the transfers", 1 + len(statements.sums))
    report.transfers = session.execute(statements.count).scalar_one()
    progress.advance()
    expected: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(BALANCES, 0))
    for name, statement in statements.sums:
        for account_id, total in session.execute(statement):
            expected[account_id][name] += int(total)
        progress.advance()

    report.totals = dict.fromkeys(BALANCES, 0)
    progress.stage("checking the accounts", session.execute(statements.account_count).scalar_one())
    for row in session.execute(statements.accounts):
        report.accounts += 1
        if report.accounts % PROGRESS_EVERY == 0:
            progress.advance(PROGRESS_EVERY)
        stored = {name: int(getattr(row, name)) for name in BALANCES}
        for name in BALANCES:
            report.totals[name] += stored[name]
        recomputed = expected.pop(row.id, dict.fromkeys(BALANCES, 0))
        report.problems.extend(_account_problems(row, stored, recomputed))
    progress.advance(report.accounts % PROGRESS_EVERY)
    for account_id in sorted(expected):  # only possible without foreign keys, but say so
        report.ledger_problems.append(f"transfers name account {account_id}, which does not exist")

    for kind in ("pending", "posted"):
        debits, credits = report.totals[f"debits_{kind}"], report.totals[f"credits_{kind}"]
        if debits != credits:
            report.ledger_problems.append(
                f"{kind} is not zero-sum: debits {from_fen(debits)} ≠ credits {from_fen(credits)}"
            )

    progress.stage("matching posts and voids to their holds", 1)
    mismatched = session.execute(statements.mismatched)
    progress.advance()
    for transfer_id, kind in mismatched:
        report.ledger_problems.append(
            f"{kind} transfer {transfer_id} does not match the pending transfer it resolves"
        )
    return report


def _account_problems(
    row: Any, stored: dict[str, int], recomputed: dict[str, int]
) -> list[AccountProblem]:
    """What is wrong with one account: balances its transfers disagree with, limits broken."""
    problems = [
        AccountProblem(
            row.id,
            row.code,
            f"{name} is {from_fen(stored[name])} "
            f"but the transfers say {from_fen(recomputed[name])}",
        )
        for name in BALANCES
        if stored[name] != recomputed[name]
    ]
    debits = stored["debits_pending"] + stored["debits_posted"]
    credits = stored["credits_pending"] + stored["credits_posted"]
    credits_posted, debits_posted = stored["credits_posted"], stored["debits_posted"]
    if row.debits_must_not_exceed_credits and debits > credits_posted:
        problems.append(
            AccountProblem(
                row.id,
                row.code,
                f"debits {from_fen(debits)} exceed credits {from_fen(credits_posted)}",
            )
        )
    if row.credits_must_not_exceed_debits and credits > debits_posted:
        problems.append(
            AccountProblem(
                row.id,
                row.code,
                f"credits {from_fen(credits)} exceed debits {from_fen(debits_posted)}",
            )
        )
    return problems
