"""Sandbox platforms over the ``sandbox_insured_persons`` table, bound to the caller's session.

The insurance platform moves personal accounts by idempotency key (``sandbox_account_movements``):
a repeat of a key answers as the first call did and moves nothing. By default it writes in the
caller's transaction (``shares_transaction``: a rollback undoes its movements too). For tests it
can play a remote platform (``remote=True``, PostgreSQL: each movement committed on a connection
of its own, so it stands whatever becomes of the caller's transaction) and be told, call by call,
to fail (:class:`PlatformFaults`).
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from insurance.money import from_fen, to_fen
from settlement.adapters.sandbox_tables import (
    PERSON_COLUMNS,
    SandboxAccountMovement,
    SandboxCreditReportRow,
    SandboxInsuredPerson,
    person_record,
)
from settlement.foundation.db import autonomous, execute_on_connection
from settlement.foundation.errors import ServiceError
from settlement.foundation.lists import in_listed, listed
from settlement.foundation.ports import (
    AccountMovement,
    CreditReport,
    OutcomeUnknown,
    OverdueReport,
    PersonRecord,
)

#: What a planned fault does to one call: ``fail_before`` refuses it with nothing moved (a known
#: failure), ``lose_reply`` moves the money and loses the answer, ``timeout`` moves nothing and
#: answers nothing (both unknown outcomes to the caller), ``succeed`` answers normally.
FAULTS = ("succeed", "fail_before", "lose_reply", "timeout")
UNAVAILABLE = "insurance_platform_unavailable"


class PlatformFaults:
    """Faults planned for the sandbox platform's next calls, consumed one per call, in order:
    ``movements`` for debits and credits, ``queries`` for :meth:`movement`; a call with none
    planned succeeds."""

    def __init__(self) -> None:
        self.movements: deque[str] = deque()
        self.queries: deque[str] = deque()

    def plan(self, *faults: str) -> None:
        assert all(fault in FAULTS for fault in faults), faults
        self.movements.extend(faults)

    def next_movement(self) -> str:
        return self.movements.popleft() if self.movements else "succeed"

    def next_query(self) -> str:
        return self.queries.popleft() if self.queries else "succeed"


class SandboxInsurancePlatform:
    """Person lookup (national 1101) answered from the sandbox table; personal-account
    movements by key."""

    def __init__(
        self, session: Session, *, remote: bool = False, faults: PlatformFaults | None = None
    ) -> None:
        self.session = session
        self.remote = remote
        self.shares_transaction = not remote
        self.faults = faults or PlatformFaults()
        if remote and session.get_bind().dialect.name != "postgresql":
            raise ValueError("a remote insurance platform needs a second writer: PostgreSQL")

    def lookup_person(self, psn_no: str) -> PersonRecord | None:
        # Columns, not a mapped object: every charge looks its patient up.
        row = execute_on_connection(self.session, _PERSON, {"psn_no": psn_no}).first()
        return None if row is None else person_record(row)

    def lookup_persons(self, psn_nos: Collection[str]) -> dict[str, PersonRecord]:
        statement = _PERSONS[self.session.get_bind().dialect.name]
        rows = execute_on_connection(
            self.session, statement, {"psn_nos": listed(self.session, psn_nos)}
        )
        return {row.psn_no: person_record(row) for row in rows}

    # A movement without a key (an operator's or a test's, never the engine's) gets one of its own.
    def debit_personal_account(
        self, psn_no: str, amount: Decimal, *, key: str | None = None
    ) -> Decimal:
        return self._call(key or _unkeyed(), psn_no, "debit", to_fen(amount))

    def credit_personal_account(
        self, psn_no: str, amount: Decimal, *, key: str | None = None
    ) -> Decimal:
        return self._call(key or _unkeyed(), psn_no, "credit", to_fen(amount))

    def movement(self, key: str) -> AccountMovement | None:
        if self.faults.next_query() != "succeed":
            raise OutcomeUnknown(key)
        row = self._run(lambda execute: execute(_MOVEMENT, {"key": key}).first())
        return None if row is None else _movement(row)

    def _call(self, key: str, psn_no: str, direction: str, amount_fen: int) -> Decimal:
        fault = self.faults.next_movement()
        if fault == "fail_before":
            raise ServiceError(UNAVAILABLE, "the insurance platform refused the connection")
        if fault == "timeout":
            raise OutcomeUnknown(key)
        postgres = self.session.get_bind().dialect.name == "postgresql"
        balance: Decimal = self._run(
            lambda execute: _move(execute, key, psn_no, direction, amount_fen, postgres=postgres)
        )
        loaded = self.session.identity_map.get(
            self.session.identity_key(SandboxInsuredPerson, psn_no)
        )
        if loaded is not None:  # a copy this session loaded earlier: read it afresh if asked
            self.session.expire(loaded)
        if fault == "lose_reply":
            raise OutcomeUnknown(key)
        return balance

    def _run(self, work: Callable[[_Execute], Any]) -> Any:
        """``work`` in the caller's transaction, or (remote) committed on a connection of its
        own."""
        if not self.remote:
            return work(
                lambda statement, params=None: execute_on_connection(
                    self.session, statement, params
                )
            )
        with autonomous(self.session) as connection:
            return work(_on(connection))


class SandboxCreditPlatform:
    """Ratings from the sandbox table; overdue reports kept in ``sandbox_credit_reports``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rating(self, certno: str) -> CreditReport | None:
        query = select(SandboxInsuredPerson).where(SandboxInsuredPerson.certno == certno).limit(1)
        row = self.session.scalars(query).first()
        return None if row is None else row.credit_report()

    def report_overdue(self, report: OverdueReport) -> bool:
        query = select(SandboxCreditReportRow.id).where(
            SandboxCreditReportRow.bill_id == report.bill_id
        )
        if self.session.scalars(query).first() is not None:
            return False
        self.session.add(
            SandboxCreditReportRow(
                psn_no=report.psn_no,
                certno=report.certno,
                bill_id=report.bill_id,
                amount_fen=to_fen(report.amount),
                reported_at=report.reported_at,
            )
        )
        self.session.flush()
        return True


_Execute = Callable[..., Any]


def _unkeyed() -> str:
    return f"sandbox:{secrets.token_hex(12)}"


def _on(connection: Connection) -> _Execute:
    return lambda statement, params=None: connection.execute(statement, params)


def _move(
    execute: _Execute, key: str, psn_no: str, direction: str, amount_fen: int, *, postgres: bool
) -> Decimal:
    """Move the balance once per key: one UPDATE that moves it only if it stays not negative and
    the key is new, and the movement recorded (on PostgreSQL in the same statement, a writable
    CTE); a repeated key answers from its record."""
    delta = amount_fen if direction == "credit" else -amount_fen
    terms = {"key": key, "psn_no": psn_no, "direction": direction, "amount_fen": amount_fen}
    recorded = {f"movement_{name}": value for name, value in terms.items()}
    moving = {"moving_key": key, "moving_psn_no": psn_no, "delta": delta}
    if postgres:
        moved = execute(_MOVED_AND_RECORDED, {**recorded, **moving}).first()
    else:
        moved = execute(_MOVING, moving).first()
        if moved is not None:
            execute(_RECORDED, {**recorded, "movement_balc_after_fen": moved.balc_fen})
    if moved is None:
        first = execute(_MOVEMENT, {"key": key}).first()
        if first is not None:
            if (first.psn_no, first.direction, first.amount_fen) != (psn_no, direction, amount_fen):
                raise ServiceError("conflict", f"movement {key} was made with other terms")
            return from_fen(first.balc_after_fen)
        if execute(_PERSON, {"psn_no": psn_no}).first() is None:
            raise ServiceError("patient_not_found", f"no insured person {psn_no}")
        short = from_fen(amount_fen)
        raise ServiceError("conflict", f"the account of {psn_no} holds less than {short}")
    return from_fen(moved.balc_fen)


def _bound(column: Any) -> Any:
    """A parameter for ``column`` of the movements' table, typed as it: ``movement_{column}``."""
    return bindparam(f"movement_{column.key}", type_=column.type)


_TERMS = (
    SandboxAccountMovement.key,
    SandboxAccountMovement.psn_no,
    SandboxAccountMovement.direction,
    SandboxAccountMovement.amount_fen,
)
#: Built once (every payment and refund moves an account): the balance moved by ``delta`` if it
#: stays not negative and ``moving_key`` is new. (A statement's parameters named as an UPDATE's
#: columns would be taken as columns to set: none is.)
_MOVING = (
    update(SandboxInsuredPerson)
    .where(
        SandboxInsuredPerson.psn_no == bindparam("moving_psn_no"),
        SandboxInsuredPerson.balc_fen + bindparam("delta", type_=BigInteger()) >= 0,
        ~exists().where(SandboxAccountMovement.key == bindparam("moving_key")),
    )
    .values(balc_fen=SandboxInsuredPerson.balc_fen + bindparam("delta", type_=BigInteger()))
    .returning(SandboxInsuredPerson.balc_fen)
)
_RECORDED = insert(SandboxAccountMovement).values(
    {column: _bound(column) for column in (*_TERMS, SandboxAccountMovement.balc_after_fen)}
)
_MOVED = _MOVING.cte("moved")
#: PostgreSQL: the move and its record in one statement.
_MOVED_AND_RECORDED = (
    insert(SandboxAccountMovement)
    .from_select(
        [*(column.key for column in _TERMS), "balc_after_fen"],
        select(*(_bound(column) for column in _TERMS), _MOVED.c.balc_fen),
    )
    .returning(SandboxAccountMovement.balc_after_fen.label("balc_fen"))
)


def _movement(row: Any) -> AccountMovement:
    return AccountMovement(
        row.key, row.psn_no, row.direction, from_fen(row.amount_fen), from_fen(row.balc_after_fen)
    )


_MOVEMENT = select(
    SandboxAccountMovement.key,
    SandboxAccountMovement.psn_no,
    SandboxAccountMovement.direction,
    SandboxAccountMovement.amount_fen,
    SandboxAccountMovement.balc_after_fen,
).where(SandboxAccountMovement.key == bindparam("key"))
#: Built once: every charge and visit looks its patient up.
_PERSON = select(*PERSON_COLUMNS).where(SandboxInsuredPerson.psn_no == bindparam("psn_no"))
_PERSONS = {
    dialect: select(*PERSON_COLUMNS).where(
        in_listed(SandboxInsuredPerson.psn_no, "psn_nos", postgres=dialect == "postgresql")
    )
    for dialect in ("postgresql", "sqlite")
}
