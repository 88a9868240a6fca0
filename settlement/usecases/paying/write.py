"""Paying: writing what was decided (reservations, transfers, the settlement, the bill's state).

Each function writes in the caller's transaction and never commits. Collaborators (the clock, the
insurance platform bound to the session, the credit configuration) are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from insurance.money import from_fen, to_fen
from insurance.split import Accumulators, Settlement
from settlement.billing import bill_states
from settlement.billing.accumulators import AccumulatorRow, lock_person, store_accumulators
from settlement.billing.credit_records import credit_lock_key
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation.clock import Clock
from settlement.foundation.config import Settings
from settlement.foundation.metrics import PAYMENTS, count_on_commit
from settlement.foundation.ports import InsurancePlatform
from settlement.foundation.writes import Write, added, updated, write_all
from settlement.ledger import chart
from settlement.ledger.accounts import open_accounts
from settlement.ledger.ledger import TransferRequest, create_transfers
from settlement.usecases import notices
from settlement.usecases.credit.decisions import CreditConfig
from settlement.usecases.movements import journal
from settlement.usecases.movements.decide import Intent
from settlement.usecases.paying import decide
from settlement.usecases.paying.facts import SplitFacts
from settlement.usecases.paying.repaid import record_repayment


def change_status(
    session: Session,
    bill: Bill,
    target: str,
    *,
    kind: str,
    now: datetime,
    amount_fen: int = 0,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move the bill to ``target`` through the state machine, with its history row."""
    session.add(_history_row(bill, target, kind, now, amount_fen, detail))
    bill.status = target


def bill_move(
    bill: Bill,
    target: str,
    *,
    kind: str,
    now: datetime,
    amount_fen: int = 0,
    detail: dict[str, Any] | None = None,
    **columns: Any,
) -> list[Write]:
    """:func:`change_status` as writes sent with others (``write_all``): the bill's move to
    ``target`` (and ``columns``), at the version loaded, and its history row."""
    event = _history_row(bill, target, kind, now, amount_fen, detail)
    return [updated(bill, status=target, **columns), added(event)]


def _history_row(
    bill: Bill,
    target: str,
    kind: str,
    now: datetime,
    amount_fen: int,
    detail: dict[str, Any] | None,
) -> BillEvent:
    """The history row of the bill's move to ``target``, once the state machine allows it."""
    if target != bill.status:
        bill_states.check_transition(bill.status, target)
    return BillEvent(
        bill_id=bill.bill_id,
        kind=kind,
        from_status=bill.status,
        to_status=target,
        amount_fen=amount_fen,
        detail=detail or {},
        created_at=now,
    )


#: The kind of ledger account each source of a repayment is.
SOURCE_KINDS = {
    "hifp": "fund",
    "acct": "insurance_account",
    "mulaid": "insurance_account",
    "cash": "wallet_clearing",
}


def source_codes(
    psn_no: str, provider: str | None, *, mulaid_psn_no: str | None = None
) -> dict[str, str]:
    """The ledger accounts repayments come from, by source.

    ``mulaid_psn_no``: the family manager whose personal account gives mutual aid, if any.
    """
    accounts = {
        "hifp": chart.POOLED_FUND,
        "acct": chart.patient_insurance_account(psn_no),
    }
    if mulaid_psn_no is not None:
        accounts["mulaid"] = chart.patient_insurance_account(mulaid_psn_no)
    if provider is not None:
        accounts["cash"] = chart.wallet_clearing(provider)
    return accounts


def source_kinds(accounts: dict[str, str]) -> dict[str, str]:
    """The kinds of the source accounts ``accounts`` (by source), by code: what opens them."""
    return {code: SOURCE_KINDS[source] for source, code in accounts.items()}


def source_accounts(
    session: Session, psn_no: str, provider: str | None, *, mulaid_psn_no: str | None = None
) -> dict[str, str]:
    """:func:`source_codes`, opened on first use (one statement for all)."""
    accounts = source_codes(psn_no, provider, mulaid_psn_no=mulaid_psn_no)
    open_accounts(session, source_kinds(accounts))
    return accounts


def reserve(
    session: Session,
    platform: InsurancePlatform,
    *,
    bill_id: str,
    setl_id: str,
    psn_no: str,
    split: Settlement,
    now: datetime,
    accumulators: bool = True,
) -> None:
    """Take what the split consumes, so a concurrent split of these people sees it used: the
    accumulators are stored (unless the close consumed them: ``visit_end``), the personal
    accounts debited, each by its key (:func:`decide.movement_key`), intent first
    (``settlement.usecases.movements.journal``)."""
    if accumulators:
        store_accumulators(session, psn_no=psn_no, accumulators=split.accumulators, now=now)
    debits = [(psn_no, split.acct_own_pay), *((aid.psn_no, aid.amount) for aid in split.mutual_aid)]
    journal.move(
        session,
        platform,
        [
            _movement(bill_id, setl_id, "pay", who, "debit", to_fen(amount))
            for who, amount in debits
        ],
        now=now,
    )


def _movement(
    bill_id: str, setl_id: str, purpose: str, psn_no: str, direction: str, amount_fen: int
) -> Intent:
    key = decide.movement_key(setl_id, purpose, psn_no)
    return Intent(key, bill_id, purpose, setl_id, psn_no, direction, amount_fen)


def pending_transfers(
    session: Session,
    *,
    bill: Bill,
    payer_psn_no: str,
    wallet_provider: str | None,
    legs: list[dict[str, Any]],
    clock: Clock,
) -> None:
    """The legs as pending ledger transfers into the lines they repay.

    Their ids derive from the new settlement's id, under the bill's lock: no concurrent writer
    can take them, so the batch runs without a savepoint (``ids_locked``), and they were never
    used, so nothing is looked up (``fresh_ids``).
    """
    # The mutual-aid leg comes from the manager's personal account (one manager pays).
    mulaid = any(leg["source"] == "mulaid" for leg in legs)
    accounts = source_codes(
        bill.psn_no, wallet_provider, mulaid_psn_no=payer_psn_no if mulaid else None
    )
    pending = [
        TransferRequest(
            id=leg["id"],
            kind="pending",
            debit_account=accounts[leg["source"]],
            credit_account=chart.patient_line(leg["line"]),
            amount=from_fen(leg["amount_fen"]),
            code=f"repay_{leg['source']}",
            reference=bill.bill_id,
        )
        for leg in decide.pending_legs(legs)
    ]
    # The sources are opened on first use: only when the batch finds one missing.
    create_transfers(
        session,
        pending,
        clock=clock,
        ids_locked=True,
        fresh_ids=True,
        open_missing=source_kinds(accounts),
    )


def new_settlement(
    *,
    setl_id: str,
    bill: Bill,
    payer_psn_no: str,
    channel: str,
    wallet_provider: str | None,
    split: Settlement,
    facts: SplitFacts,
    legs: list[dict[str, Any]],
    now: datetime,
    order_id: str | None = None,
) -> BillSettlement:
    """The settlement record (2207) of a split, pending, with what a refund rebuilds it from;
    ``order_id``: the wallet order about to be opened for its cash part, if any."""
    info = split.setlinfo
    before = split.accumulators_before
    return BillSettlement(
        setl_id=setl_id,
        bill_id=bill.bill_id,
        psn_no=bill.psn_no,
        payer_psn_no=payer_psn_no,
        status="pending",
        channel=channel,
        provider=wallet_provider,
        order_id=order_id,
        setlinfo=info.as_dict(),
        medfee_sumamt_fen=to_fen(info.medfee_sumamt),
        hifp_pay_fen=to_fen(info.hifp_pay),
        acct_own_pay_fen=to_fen(split.acct_own_pay),
        acct_mulaid_pay_fen=to_fen(info.acct_mulaid_pay),
        psn_cash_pay_fen=to_fen(info.psn_cash_pay),
        lines=[line.feedetl_sn for line in facts.lines],
        hospital_level=facts.hospital.level,
        psn_type=split.psn_type,
        visit_date=split.visit_date,
        policy_year=before.policy_year,
        deductible_before_fen=to_fen(before.deductible_used),
        hifp_paid_before_fen=to_fen(before.hifp_paid),
        balance_before_fen=to_fen(split.account_balance),
        transfers=legs,
        created_at=now,
    )


def new_wallet_order(
    *,
    order_id: str,
    provider: str,
    reference: str,
    bill: Bill,
    record: BillSettlement,
    now: datetime,
) -> WalletOrder:
    """Our record of the wallet order opened for the settlement's cash part."""
    return WalletOrder(
        order_id=order_id,
        provider=provider,
        bill_id=bill.bill_id,
        setl_id=record.setl_id,
        psn_no=bill.psn_no,
        amount_fen=record.psn_cash_pay_fen,
        status="pending",
        provider_ref=reference,
        last_seq=0,
        refunded_fen=0,
        created_at=now,
        updated_at=now,
    )


def confirm(
    session: Session,
    bill: Bill,
    record: BillSettlement,
    *,
    clock: Clock,
    credit_config: CreditConfig,
    settings: Settings,
    people: InsurancePlatform,
    now: datetime,
    family_freezes: bool,
    also: Sequence[Write] = (),
) -> None:
    """Post the settlement's pending transfers: the bill settles, the credit event follows, and
    the patient (and their managers) are told. ``family_freezes``: the scheme freezes a manager
    whose line a relative's overdue bill draws on (only then is a manager told it is lifted).
    ``also``: writes sent with the settlement's and the bill's (the wallet order's outcome)."""
    posts = [
        TransferRequest(
            id=f"{leg['id']}:post",
            kind="post_pending",
            pending_id=leg["id"],
            code=f"repay_{leg['source']}",
            reference=bill.bill_id,
        )
        for leg in decide.pending_legs(record.transfers)
    ]
    # Only a writer holding the bill's lock posts or voids its settlement's transfers.
    create_transfers(session, posts, clock=clock, ids_locked=True)
    # What a refund reverses from now on: the posts (and the fund's legs posted at close).
    posted = [
        leg if leg.get("at_close") else {**leg, "id": f"{leg['id']}:post"}
        for leg in record.transfers
    ]
    settled = bill_move(
        bill,
        decide.settled_state(bill.status),
        kind="settled",
        now=now,
        amount_fen=record.medfee_sumamt_fen,
        detail={"setl_id": record.setl_id},
        settled_at=now,
    )
    # The patient's credit lock taken in the settlement's statement (PostgreSQL: one round
    # trip less), after the locks held already: the bill, its settlement and order (every
    # caller holds them) and the ledger's accounts, so the order of locks is as it was.
    locked = session.get_bind().dialect.name == "postgresql"
    write_all(
        session,
        [updated(record, transfers=posted, status="posted", posted_at=now), *settled, *also],
        lock=credit_lock_key(bill.psn_no) if locked else None,
    )
    # The new decision and the notices written together, in one statement on PostgreSQL.
    deferred: list[Write] = []
    managers = record_repayment(
        session,
        bill,
        clock=clock,
        credit_config=credit_config,
        settings=settings,
        people=people,
        writes=deferred,
        locked=locked,
    )
    notices.payment_settled(
        session,
        settings=settings,
        people=people,
        bill=bill,
        record=record,
        now=now,
        family_freezes=family_freezes,
        managers=managers,
        into=deferred,
    )
    write_all(session, deferred)
    count_on_commit(session, PAYMENTS.labels("settled", "").inc)


def fail(
    session: Session,
    bill: Bill,
    record: BillSettlement,
    *,
    clock: Clock,
    platform: InsurancePlatform,
    settings: Settings,
    now: datetime,
    also: Sequence[Write] = (),
) -> None:
    """Void the settlement's pending transfers, give back everything it reserved, and tell
    the patient when it was an auto-pay. ``also``: writes sent with the settlement's and the
    bill's (the wallet order's outcome)."""
    voids = [
        TransferRequest(
            id=f"{leg['id']}:void",
            kind="void_pending",
            pending_id=leg["id"],
            code=f"repay_{leg['source']}_void",
            reference=bill.bill_id,
        )
        for leg in decide.pending_legs(record.transfers)
    ]
    create_transfers(session, voids, clock=clock, ids_locked=True)
    lock_person(session, bill.psn_no)
    release_reservation(
        session, platform, record, now=now, accumulators=bill.fund_settlement is None
    )
    unpaid = bill_move(
        bill,
        decide.unpaid_state(bill.status),
        kind="payment_failed",
        now=now,
        detail={"setl_id": record.setl_id},
    )
    write_all(session, [updated(record, status="voided", voided_at=now), *unpaid, *also])
    notices.payment_failed(
        session, settings=settings, people=platform, bill=bill, record=record, now=now
    )
    count_on_commit(session, PAYMENTS.labels("failed", "").inc)


def release_reservation(
    session: Session,
    platform: InsurancePlatform,
    record: BillSettlement,
    *,
    now: datetime,
    accumulators: bool = True,
) -> None:
    """Give back what a settlement consumed: the accumulators (unless the close consumed them,
    ``visit_end``: the fund's share stays settled), then the personal account."""
    if accumulators:
        _release_accumulators(session, record, now=now)
    # Mutual aid goes back to the family manager who paid (settlement.family).
    credits = [
        (record.psn_no, record.acct_own_pay_fen),
        (record.payer_psn_no, record.acct_mulaid_pay_fen),
    ]
    journal.move(
        session,
        platform,
        [
            _movement(record.bill_id, record.setl_id, "release", who, "credit", fen)
            for who, fen in credits
        ],
        now=now,
    )


def _release_accumulators(session: Session, record: BillSettlement, *, now: datetime) -> None:
    info = record.setlinfo
    row = session.get(AccumulatorRow, (record.psn_no, record.policy_year))
    assert row is not None, "a settlement always stores its accumulators"
    store_accumulators(
        session,
        psn_no=record.psn_no,
        accumulators=Accumulators(
            record.policy_year,
            from_fen(row.deductible_used_fen) - Decimal(info["act_pay_dedc"]),
            from_fen(row.hifp_paid_fen) - from_fen(record.hifp_pay_fen),
        ),
        now=now,
    )
