"""A Hypothesis state machine: random ledger histories checked against an in-memory model.

Each step opens accounts, places holds, posts them (whole or part, or too much), voids them,
reverses posted money, sends linked batches, or retries an earlier request (same content, or other
content under the same id). The model predicts every outcome independently of the ledger's code;
after every step the stored balances must equal the model's, ``verify_ledger`` must say balanced
(recomputed balances, zero-sum pending and posted, limits), and retries must change nothing.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from settlement.foundation.clock import AdjustableClock
from settlement.foundation.db import make_engine, make_session_factory
from settlement.foundation.unit_of_work import UnitOfWorkFactory
from settlement.ledger.errors import LedgerError, LinkedEventFailed
from settlement.ledger.ledger import (
    ACCOUNT_BALANCES,
    Account,
    TransferRequest,
    create_transfer,
    create_transfer_chains,
    create_transfers_with_balances,
    open_account,
    reverse,
)
from settlement.ledger.verify import verify_ledger
from tests.integration.ledger.reference_model import Model, ModelAccount, amount_of
from tests.integration.ledger.support import snapshot

CENTS = st.integers(min_value=1, max_value=5_000)
PICK = st.integers(min_value=0, max_value=10_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, database: Callable[[], Iterator[Engine]]) -> None:
        super().__init__()
        self._database = database()
        engine = next(self._database)
        self.uow_factory = UnitOfWorkFactory(make_session_factory(engine))
        self.model = Model()
        self.counter = 0
        self.clock = AdjustableClock(frozen_at=datetime(2026, 11, 23, tzinfo=UTC))

    def teardown(self) -> None:
        self._database.close()

    # -- helpers ---------------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.uow_factory() as uow:
            yield uow.session
            uow.commit()

    def pick(self, items: list[str], index: int) -> str:
        return items[index % len(items)]

    def submit(self, request: TransferRequest) -> None:
        expected = self.model.apply(request)
        error: str | None = None
        try:
            with self.session() as session:
                results, accounts = create_transfers_with_balances(
                    session, [request], clock=self.clock
                )
            assert results[0].status == "created"
            self.assert_balances_as_modelled(accounts, self.model)
        except LedgerError as refused:
            error = refused.code
        assert error == expected, (request, error, expected)

    @staticmethod
    def assert_balances_as_modelled(accounts: dict[str, Account], model: Model) -> None:
        """The balances a write returns are those the model predicts after it."""
        assert accounts  # a created transfer locked at least its two accounts
        for code, account in accounts.items():
            expected = model.accounts[code]
            returned = (
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            )
            assert returned == tuple(
                amount_of(fen)
                for fen in (
                    expected.debits_pending,
                    expected.debits_posted,
                    expected.credits_pending,
                    expected.credits_posted,
                )
            ), (code, returned, expected)

    def assert_unchanged_by(self, action: Callable[[Session], None]) -> None:
        with self.session() as session:
            before = snapshot(session)
        with self.session() as session:
            action(session)
        with self.session() as session:
            assert snapshot(session) == before

    # -- rules -----------------------------------------------------------------------------------

    @initialize()
    def open_the_first_accounts(self) -> None:
        # A funding account, and one account of each limit kind funded from it, so that the
        # first steps already have money to move.
        with self.session() as session:
            # The funding account is striped, as the pooled fund is: its balance spread over rows.
            for code, limit in (
                ("funding", None),
                ("free", None),
                ("patient", "debits"),
                ("refunds", "credits"),
            ):
                open_account(
                    session,
                    code=code,
                    kind="test",
                    debits_must_not_exceed_credits=limit == "debits",
                    credits_must_not_exceed_debits=limit == "credits",
                    striped=code == "funding",
                )
                self.model.accounts[code] = ModelAccount(limit=limit)
        for debit, credit in (("funding", "patient"), ("refunds", "funding")):
            self.submit(
                TransferRequest(
                    id=self.next_id("seed"),
                    debit_account=debit,
                    credit_account=credit,
                    amount=Decimal(100),
                )
            )

    @rule(limit=st.sampled_from([None, "debits", "credits"]), striped=st.booleans())
    def open_an_account(self, limit: str | None, striped: bool) -> None:
        code = self.next_id("acct")
        with self.session() as session:
            account = open_account(
                session,
                code=code,
                kind="test",
                debits_must_not_exceed_credits=limit == "debits",
                credits_must_not_exceed_debits=limit == "credits",
                striped=striped and limit is None,
            )
            assert account.debits_posted == account.credits_posted == 0
        self.model.accounts[code] = ModelAccount(limit=limit)

    def two_accounts(self, debit: int, credit: int, oddity: int) -> tuple[str, str]:
        """Two different accounts, but now and then the same one twice or an unknown one."""
        codes = sorted(self.model.accounts)
        first = self.pick(codes, debit)
        if oddity == 0:
            return first, first
        if oddity == 1:
            return first, "nobody"
        return first, self.pick([code for code in codes if code != first], credit)

    @rule(
        kind=st.sampled_from(["single_phase", "pending"]),
        debit=PICK,
        credit=PICK,
        cents=CENTS,
        oddity=st.integers(min_value=0, max_value=15),
    )
    def transfer(self, kind: str, debit: int, credit: int, cents: int, oddity: int) -> None:
        debit_code, credit_code = self.two_accounts(debit, credit, oddity)
        request = TransferRequest(
            id=self.next_id(kind),
            kind=kind,  # type: ignore[arg-type]
            debit_account=debit_code,
            credit_account=credit_code,
            amount=amount_of(cents),
            code="test",
        )
        if oddity in (0, 1):
            self.assert_unchanged_by(lambda _: self.submit(request))
        else:
            self.submit(request)

    def pendings(self) -> list[str]:
        return sorted(t for t, m in self.model.transfers.items() if m.kind == "pending")

    @precondition(lambda self: self.pendings())
    @rule(which=PICK, part=st.one_of(st.none(), st.integers(min_value=1, max_value=6_000)))
    def post(self, which: int, part: int | None) -> None:
        pending_id = self.pick(self.pendings(), which)
        amount = None if part is None else amount_of(part)
        request = TransferRequest(
            id=self.next_id("post"), kind="post_pending", pending_id=pending_id, amount=amount
        )
        self.submit(request)

    @precondition(lambda self: self.pendings())
    @rule(which=PICK)
    def void(self, which: int) -> None:
        pending_id = self.pick(self.pendings(), which)
        self.submit(
            TransferRequest(id=self.next_id("void"), kind="void_pending", pending_id=pending_id)
        )

    @precondition(lambda self: self.model.transfers)
    @rule(which=PICK)
    def reverse_a_transfer(self, which: int) -> None:
        original_id = self.pick(sorted(self.model.transfers), which)
        original = self.model.transfers[original_id]
        new_id = self.next_id("reversal")
        as_request = TransferRequest(
            id=new_id,
            debit_account=original.credit,
            credit_account=original.debit,
            amount=amount_of(original.amount),
            code="reversal",
            reference=original.request.reference,
            reverses_id=original_id,
        )
        expected = self.model.apply(as_request)
        error: str | None = None
        try:
            with self.session() as session:
                reverse(session, original_id=original_id, new_id=new_id, clock=self.clock)
        except LedgerError as refused:
            error = refused.code
        assert error == expected

    def picked_transfer(self, prefix: str, kind: str, picks: list[int], n: int) -> TransferRequest:
        """The ``n``-th transfer a rule builds from its ``picks`` (two per transfer)."""
        debit, credit = self.two_accounts(picks[2 * n], picks[2 * n + 1], picks[2 * n] % 25)
        return TransferRequest(
            id=self.next_id(prefix),
            kind=kind,  # type: ignore[arg-type]
            debit_account=debit,
            credit_account=credit,
            amount=amount_of(picks[2 * n + 1] % 3_000 + 1),
            code="hold",
            reference=prefix,
        )

    @staticmethod
    def expected_failure(trial: Model, batch: list[TransferRequest]) -> tuple[int, str] | None:
        """Where and why a linked ``batch`` fails, applying it to ``trial`` up to there."""
        # Each request is checked on its own before any is applied, so a malformed one is reported
        # ahead of an earlier one that the ledger's state would refuse.
        malformed = [i for i, r in enumerate(batch) if r.debit_account == r.credit_account]
        if malformed:
            return malformed[0], "accounts_must_be_different"
        return next(((i, code) for i, r in enumerate(batch) if (code := trial.apply(r))), None)

    @rule(size=st.integers(min_value=2, max_value=4), picks=st.lists(PICK, min_size=8, max_size=8))
    def a_linked_batch_succeeds_or_fails_as_one(self, size: int, picks: list[int]) -> None:
        batch = [self.picked_transfer("line", "pending", picks, i) for i in range(size)]
        trial = copy.deepcopy(self.model)
        failing = self.expected_failure(trial, batch)
        with self.session() as session:
            before = snapshot(session)
        try:
            with self.session() as session:
                results, accounts = create_transfers_with_balances(session, batch, clock=self.clock)
        except LinkedEventFailed as refused:
            assert failing == (refused.index, refused.error.code)
            with self.session() as session:
                assert snapshot(session) == before
        else:
            assert failing is None
            assert [r.status for r in results] == ["created"] * size
            self.assert_balances_as_modelled(accounts, trial)
            self.model = trial

    @rule(
        sizes=st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=3),
        picks=st.lists(PICK, min_size=18, max_size=18),
        kinds=st.lists(st.sampled_from(["pending", "single_phase"]), min_size=9, max_size=9),
    )
    def independent_chains_each_succeed_or_fail_alone(
        self, sizes: list[int], picks: list[int], kinds: list[str]
    ) -> None:
        chains: list[list[TransferRequest]] = []
        n = 0
        for size in sizes:
            chains.append(
                [self.picked_transfer("chain", kinds[n + i], picks, n + i) for i in range(size)]
            )
            n += size
        # The model applies the chains one after the other, each on what the earlier ones left.
        expected: list[tuple[int, str] | None] = []
        after: list[Model] = []
        for chain in chains:
            trial = copy.deepcopy(self.model)
            failing = self.expected_failure(trial, chain)
            expected.append(failing)
            if failing is None:
                self.model = trial
            after.append(copy.deepcopy(self.model))
        with self.session() as session:
            outcomes = create_transfer_chains(session, chains, clock=self.clock)
        for chain, failing, outcome, model in zip(chains, expected, outcomes, after, strict=True):
            if outcome.error is None:
                assert failing is None, (failing, chain)
                assert [r.status for r in outcome.results] == ["created"] * len(chain)
                self.assert_balances_as_modelled(outcome.accounts, model)
            else:
                error = outcome.error
                index = error.index if isinstance(error, LinkedEventFailed) else 0
                cause = error.error if isinstance(error, LinkedEventFailed) else error
                assert failing == (index, cause.code), (failing, error)
                assert outcome.results == [] and outcome.accounts == {}

    @precondition(lambda self: self.model.transfers)
    @rule(which=PICK)
    def a_retry_with_the_same_content_changes_nothing(self, which: int) -> None:
        transfer_id = self.pick(sorted(self.model.transfers), which)
        request = self.model.transfers[transfer_id].request

        def retry(session: Session) -> None:
            assert create_transfer(session, request, clock=self.clock).status == "exists"

        self.assert_unchanged_by(retry)

    @precondition(lambda self: self.model.transfers)
    @rule(which=PICK, change=st.sampled_from(["reference", "code", "amount"]))
    def a_retry_with_other_content_is_refused(self, which: int, change: str) -> None:
        transfer_id = self.pick(sorted(self.model.transfers), which)
        request = self.model.transfers[transfer_id].request
        if change == "amount":
            cents = self.model.transfers[transfer_id].amount + 1
            changed = dataclasses.replace(request, amount=amount_of(cents))
        else:
            changed = dataclasses.replace(request, **{change: "changed"})

        def retry(session: Session) -> None:
            try:
                create_transfer(session, changed, clock=self.clock)
            except LedgerError as refused:
                assert refused.code == "exists_with_different_content"
            else:
                raise AssertionError("a retry with other content was accepted")

        self.assert_unchanged_by(retry)

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def the_stored_balances_are_the_models(self) -> None:
        with self.session() as session:
            rows = session.execute(ACCOUNT_BALANCES).all()  # a striped one's stripes added
        stored = {
            row.code: (
                row.debits_pending,
                row.debits_posted,
                row.credits_pending,
                row.credits_posted,
            )
            for row in rows
        }
        expected = {
            code: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
            for code, a in self.model.accounts.items()
        }
        assert stored == expected
        for row in rows:
            if row.debits_must_not_exceed_credits:
                assert row.debits_pending + row.debits_posted <= row.credits_posted
            if row.credits_must_not_exceed_debits:
                assert row.credits_pending + row.credits_posted <= row.debits_posted
        assert sum(s[0] for s in stored.values()) == sum(s[2] for s in stored.values())
        assert sum(s[1] for s in stored.values()) == sum(s[3] for s in stored.values())

    @invariant()
    def verify_says_balanced(self) -> None:
        with self.session() as session:
            report = verify_ledger(session)
        assert report.ok, report.render()
        assert report.transfers == len(self.model.transfers)


def test_random_ledger_histories_keep_every_invariant(postgres_database, sqlite_template):
    def database() -> Iterator[Engine]:
        if postgres_database is not None:
            # Only the ledger's tables: emptying every table of the schema per example costs
            # more than the example. (TRUNCATE is not a DELETE: the immutability trigger allows it.)
            with postgres_database.engine.begin() as connection:
                connection.execute(
                    text("TRUNCATE ledger_transfers, ledger_accounts RESTART IDENTITY CASCADE")
                )
            yield postgres_database.engine
            return
        engine = make_engine(sqlite_template.fresh_url())
        try:
            yield engine
        finally:
            engine.dispose()

    run_state_machine_as_test(
        lambda: LedgerMachine(database),
        # Each example is a fresh database and ~30 transactions: 50 examples keep this test
        # well under half a minute on PostgreSQL even under the "ci" profile.
        settings=settings(
            settings.default,
            max_examples=min(settings.default.max_examples, 50),
            stateful_step_count=30,
        ),
    )
