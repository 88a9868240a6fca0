"""Paying a bill: the split now, pending transfers, a wallet order, then confirm or fail.

``start_payment`` splits the bill with the accumulators and the personal account balance of now,
and *reserves* what the split consumes in the same transaction: the policy-year accumulators are
stored and the personal account is debited at once, under a per-person lock. So two bills of one
patient paid at the same moment can never both use the same deductible or the same balance; a
failed payment gives both back. The three sources (pooled fund, personal account, wallet) are
pending ledger transfers into the patient's line until the wallet's signed callback confirms;
then they post together (one linked batch), the bill settles, the credit event is recorded and
the line synced. A psn_cash_pay of zero needs no wallet: the payment confirms at once.

Every function runs in the caller's unit of work and never commits, except
:func:`deliver_due_callbacks`, which is a dispatcher and opens one unit of work per callback.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from credit.events import BillRepaidOnTime, CreditEvent, OverdueBillRepaid
from insurance.money import ZERO, MoneyError, from_fen, parse_amount, to_fen
from insurance.split import Accumulators
from settlement.access.hospitals import Hospital
from settlement.adapters.wallet_tables import PROVIDERS, SandboxWalletCallback
from settlement.adapters.wallets import WalletProvider, signature_ok
from settlement.billing import bill_states
from settlement.billing.accumulators import AccumulatorRow, store_accumulators
from settlement.billing.credit_line import sync_line
from settlement.billing.history import repayment_history
from settlement.billing.payment_tables import BillSettlement, WalletCallbackLog, WalletOrder
from settlement.billing.tables import Bill, BillEvent, Visit
from settlement.bootstrap import Container
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.foundation.metrics import PAYMENTS, count_on_commit
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.ledger import chart
from settlement.ledger.ledger import TransferRequest, create_transfers, open_account
from settlement.usecases import notices
from settlement.usecases.charging.visits import split_visit
from settlement.usecases.credit.decisions import current_decision, record_event
from settlement.usecases.family.links import can_pay_bill, mutual_aid_accounts
from settlement.usecases.family.sharing import bill_line_shares

logger = logging.getLogger("shuxin.payments")

#: The sources of a repayment, in the order their transfers are written.
SOURCES = ("hifp", "acct", "mulaid", "cash")
PAYABLE = frozenset({bill_states.BILLED, bill_states.OVERDUE})


@dataclass(frozen=True)
class WalletPayment:
    """The wallet part of a payment, as the patient sees it."""

    payment_id: str
    provider: str
    amount: Decimal
    status: str  # pending | succeeded | failed


@dataclass(frozen=True)
class PaymentResult:
    bill: Bill
    settlement: BillSettlement
    payment: WalletPayment | None

    @property
    def setlinfo(self) -> dict[str, str]:
        """The contract's setlinfo, with ``setl_id``."""
        return {**self.settlement.setlinfo, "setl_id": self.settlement.setl_id}


@dataclass(frozen=True)
class CallbackOutcome:
    """What a callback did: ``applied``, ``duplicate``, ``ignored`` (accepted) or a refusal."""

    outcome: str
    http_status: int
    message: str
    order_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.http_status == 200


# -- shared helpers (refunds use them too) ---------------------------------------------------------


def wallet_for(container: Container, session: Session, provider: str) -> WalletProvider:
    """The provider ``provider`` bound to ``session``."""
    return container.wallets(
        session, provider=provider, secret=container.settings.wallet_secret, clock=container.clock
    )


def authorise_withholding(
    container: Container, session: Session, *, psn_no: str, provider: str
) -> None:
    """Record the patient's withholding agreement (无感支付) with ``provider``: auto-pay
    (``autopay`` chosen when signing) charges it; a repeat keeps it in force."""
    wallet_for(container, session, provider).sign_agreement(psn_no)


def revoke_withholding(
    container: Container, session: Session, *, psn_no: str, provider: str
) -> None:
    """End the patient's withholding agreement with ``provider``; auto-pay then skips it."""
    wallet_for(container, session, provider).revoke_agreement(psn_no)


def lock_bill(session: Session, bill_id: str) -> Bill | None:
    """The bill, locked until the transaction ends (``SELECT … FOR UPDATE``)."""
    query = (
        select(Bill)
        .where(Bill.bill_id == bill_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


def lock_person(session: Session, psn_no: str) -> None:
    """Serialise splits of one person (accumulators, personal account) until commit.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: writers are already serialised.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"pay:{psn_no}"},
        )


def live_settlement(session: Session, bill_id: str) -> BillSettlement | None:
    """The bill's pending or posted settlement, if any (there is at most one)."""
    query = select(BillSettlement).where(
        BillSettlement.bill_id == bill_id, BillSettlement.status.in_(("pending", "posted"))
    )
    return session.scalars(query.with_for_update()).first()


def source_accounts(session: Session, psn_no: str, provider: str | None) -> dict[str, str]:
    """The ledger accounts repayments come from, opened on first use."""
    accounts = {
        "hifp": chart.POOLED_FUND,
        "acct": chart.patient_insurance_account(psn_no),
    }
    open_account(session, code=chart.POOLED_FUND, kind="fund")
    open_account(session, code=accounts["acct"], kind="insurance_account")
    if provider is not None:
        accounts["cash"] = chart.wallet_clearing(provider)
        open_account(session, code=accounts["cash"], kind="wallet_clearing")
    return accounts


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
    if target != bill.status:
        bill_states.check_transition(bill.status, target)
    session.add(
        BillEvent(
            bill_id=bill.bill_id,
            kind=kind,
            from_status=bill.status,
            to_status=target,
            amount_fen=amount_fen,
            detail=detail or {},
            created_at=now,
        )
    )
    bill.status = target


def plan_legs(
    setl_id: str,
    bill: Bill,
    amounts: Mapping[str, Decimal],
    shares: Sequence[tuple[str, Decimal]],
) -> list[dict[str, Any]]:
    """Pair the sources' amounts with the lines the bill drew on, in order (a waterfall).

    Each line gets back exactly the share it carried (the patient's own line, then any family
    manager's; see ``settlement.usecases.family.sharing.bill_line_shares``); the sources pay in the
    order pooled fund, personal account, wallet. Both sides sum to ``medfee_sumamt``, so the legs do
    too. A leg's id is ``pay:{setl_id}:{source}``, with ``:{psn_no}`` when it repays a line other
    than the patient's own.

    Raises:
        ServiceError: ``conflict`` if the two sides do not sum to the same amount.
    """
    sources = [(key, to_fen(amounts[key])) for key in SOURCES if amounts.get(key, ZERO) > 0]
    lines = [(psn_no, to_fen(amount)) for psn_no, amount in shares if amount > 0]
    if sum(fen for _, fen in sources) != sum(fen for _, fen in lines):
        raise ServiceError("conflict", f"bill {bill.bill_id}: the split and its lines disagree")
    legs: list[dict[str, Any]] = []
    source_left = [fen for _, fen in sources]
    line_left = [fen for _, fen in lines]
    i = j = 0
    while i < len(sources) and j < len(lines):
        take = min(source_left[i], line_left[j])
        psn_no = lines[j][0]
        suffix = "" if psn_no == bill.psn_no else f":{psn_no}"
        legs.append(
            {
                "id": f"pay:{setl_id}:{sources[i][0]}{suffix}",
                "source": sources[i][0],
                "line": psn_no,
                "amount_fen": take,
            }
        )
        source_left[i] -= take
        line_left[j] -= take
        i += source_left[i] == 0
        j += line_left[j] == 0
    return legs


# -- paying ----------------------------------------------------------------------------------------


def start_payment(
    uow: UnitOfWork,
    *,
    container: Container,
    bill_id: str,
    payer_psn_no: str,
    provider: str,
    channel: str = "app",
) -> PaymentResult:
    """Settle the bill now: split, reserve, pending transfers and a wallet order for the rest."""
    try:
        result = _start_payment(
            uow,
            container=container,
            bill_id=bill_id,
            payer_psn_no=payer_psn_no,
            provider=provider,
            channel=channel,
        )
    except ServiceError as refusal:
        PAYMENTS.labels("refused", refusal.code).inc()
        raise
    count_on_commit(uow.session, PAYMENTS.labels("started", "").inc)
    return result


def _start_payment(
    uow: UnitOfWork,
    *,
    container: Container,
    bill_id: str,
    payer_psn_no: str,
    provider: str,
    channel: str,
) -> PaymentResult:
    session = uow.session
    if provider not in PROVIDERS:
        raise ServiceError("validation_error", f"wallet must be one of {', '.join(PROVIDERS)}")
    bill = lock_bill(session, bill_id)
    if bill is None or not can_pay_bill(session, payer_psn_no, bill):
        raise ServiceError("not_found", f"no bill {bill_id}")
    if bill.status in bill_states.PAID:
        raise ServiceError("bill_settled", f"bill {bill_id} is already settled")
    live = live_settlement(session, bill_id)
    if live is not None and live.status == "pending":
        raise ServiceError(
            "bill_not_payable",
            f"a payment of bill {bill_id} is under way",
            payment_id=live.order_id,
            setl_id=live.setl_id,
        )
    if bill.status not in PAYABLE:
        raise ServiceError("bill_not_payable", f"a bill that is {bill.status} cannot be paid")
    # A manager paying offers their personal account for mutual aid (settlement.family); both
    # people's accounts are locked, in psn_no order so two payers never wait crosswise.
    relatives = mutual_aid_accounts(
        session, container=container, payer_psn_no=payer_psn_no, bill=bill
    )
    for person in sorted({bill.psn_no, *(relative.psn_no for relative in relatives)}):
        lock_person(session, person)
    if relatives:
        relatives = mutual_aid_accounts(
            session, container=container, payer_psn_no=payer_psn_no, bill=bill
        )  # the balance as it is under the lock
    now = container.clock.now()
    visit = session.get(Visit, bill.mdtrt_id)
    hospital = session.get(Hospital, bill.hospital_code)
    assert visit is not None and hospital is not None
    lines = [line for line in visit.fees if line.status == "billed"]
    split = split_visit(
        container,
        session,
        visit=visit,
        hospital_level=hospital.level,
        lines=lines,
        relatives=relatives,
    )
    info = split.setlinfo
    setl_id = new_id("ST", now)
    cash = info.psn_cash_pay
    wallet_provider = provider if cash > 0 else None
    # Reserve what the split consumes, so a concurrent split of this person sees it used.
    store_accumulators(session, psn_no=bill.psn_no, accumulators=split.accumulators, now=now)
    if split.acct_own_pay > 0:
        container.insurance_platform(session).debit_personal_account(
            bill.psn_no, split.acct_own_pay
        )
    for aid in split.mutual_aid:
        if aid.amount > 0:
            container.insurance_platform(session).debit_personal_account(aid.psn_no, aid.amount)
    accounts = source_accounts(session, bill.psn_no, wallet_provider)
    if info.acct_mulaid_pay > 0:
        # The mutual-aid leg comes from the manager's personal account (one manager pays).
        accounts["mulaid"] = chart.patient_insurance_account(payer_psn_no)
        open_account(session, code=accounts["mulaid"], kind="insurance_account")
    amounts = {
        "hifp": info.hifp_pay,
        "acct": split.acct_own_pay,
        "mulaid": info.acct_mulaid_pay,
        "cash": cash,
    }
    legs = plan_legs(setl_id, bill, amounts, bill_line_shares(session, bill))
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
        for leg in legs
    ]
    create_transfers(session, pending, clock=container.clock)
    before = split.accumulators_before
    record = BillSettlement(
        setl_id=setl_id,
        bill_id=bill.bill_id,
        psn_no=bill.psn_no,
        payer_psn_no=payer_psn_no,
        status="pending",
        channel=channel,
        provider=wallet_provider,
        order_id=None,
        setlinfo=info.as_dict(),
        medfee_sumamt_fen=to_fen(info.medfee_sumamt),
        hifp_pay_fen=to_fen(info.hifp_pay),
        acct_own_pay_fen=to_fen(split.acct_own_pay),
        acct_mulaid_pay_fen=to_fen(info.acct_mulaid_pay),
        psn_cash_pay_fen=to_fen(cash),
        lines=[line.feedetl_sn for line in lines],
        hospital_level=hospital.level,
        psn_type=split.psn_type,
        visit_date=split.visit_date,
        policy_year=before.policy_year,
        deductible_before_fen=to_fen(before.deductible_used),
        hifp_paid_before_fen=to_fen(before.hifp_paid),
        balance_before_fen=to_fen(split.account_balance),
        transfers=legs,
        created_at=now,
    )
    session.add(record)
    session.flush()
    target = bill_states.PAYING if bill.status == bill_states.BILLED else bill_states.PAYING_LATE
    change_status(
        session,
        bill,
        target,
        kind="payment_started",
        now=now,
        amount_fen=record.medfee_sumamt_fen,
        detail={"setl_id": setl_id, "channel": channel, "provider": wallet_provider},
    )
    if wallet_provider is None:
        _confirm(session, container, bill, record, now=now)
        session.flush()
        return PaymentResult(bill=bill, settlement=record, payment=None)
    order_id = new_id("PY", now)
    reference = wallet_for(container, session, wallet_provider).create_order(
        order_id,
        cash,
        f"舒心就医 账单 {bill.bill_id}",
        withholding=channel == "autopay",
    )
    record.order_id = order_id
    session.add(
        WalletOrder(
            order_id=order_id,
            provider=wallet_provider,
            bill_id=bill.bill_id,
            setl_id=setl_id,
            psn_no=bill.psn_no,
            amount_fen=to_fen(cash),
            status="pending",
            provider_ref=reference,
            last_seq=0,
            refunded_fen=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    payment = WalletPayment(order_id, wallet_provider, cash, "pending")
    return PaymentResult(bill=bill, settlement=record, payment=payment)


def confirm_payment(uow: UnitOfWork, *, container: Container, setl_id: str) -> BillSettlement:
    """Post a pending settlement (the wallet paid): the bill settles and the line returns."""
    bill, record = _locked_pending(uow.session, setl_id)
    _confirm(uow.session, container, bill, record, now=container.clock.now())
    return record


def fail_payment(uow: UnitOfWork, *, container: Container, setl_id: str) -> BillSettlement:
    """Void a pending settlement (the wallet failed): everything reserved goes back."""
    bill, record = _locked_pending(uow.session, setl_id)
    _fail(uow.session, container, bill, record, now=container.clock.now())
    return record


def _locked_pending(session: Session, setl_id: str) -> tuple[Bill, BillSettlement]:
    found = session.get(BillSettlement, setl_id)
    if found is None:
        raise ServiceError("not_found", f"no settlement {setl_id}")
    bill = lock_bill(session, found.bill_id)
    assert bill is not None
    record = session.get(BillSettlement, setl_id, with_for_update=True, populate_existing=True)
    assert record is not None
    if record.status != "pending":
        raise ServiceError("conflict", f"settlement {setl_id} is {record.status}, not pending")
    return bill, record


def _confirm(
    session: Session, container: Container, bill: Bill, record: BillSettlement, *, now: datetime
) -> None:
    posts = [
        TransferRequest(
            id=f"{leg['id']}:post",
            kind="post_pending",
            pending_id=leg["id"],
            code=f"repay_{leg['source']}",
            reference=bill.bill_id,
        )
        for leg in record.transfers
    ]
    create_transfers(session, posts, clock=container.clock)
    # What a refund reverses from now on: the posts.
    record.transfers = [{**leg, "id": f"{leg['id']}:post"} for leg in record.transfers]
    record.status = "posted"
    record.posted_at = now
    target = bill_states.SETTLED if bill.status == bill_states.PAYING else bill_states.SETTLED_LATE
    change_status(
        session,
        bill,
        target,
        kind="settled",
        now=now,
        amount_fen=record.medfee_sumamt_fen,
        detail={"setl_id": record.setl_id},
    )
    bill.settled_at = now
    session.flush()
    _record_repayment(session, container, bill)
    notices.payment_settled(
        session,
        settings=container.settings,
        people=container.insurance_platform(session),
        bill=bill,
        record=record,
        now=now,
    )
    count_on_commit(session, PAYMENTS.labels("settled", "").inc)


def _record_repayment(session: Session, container: Container, bill: Bill) -> None:
    """The credit event of a repaid bill, then the ledger's line moved to the new decision."""
    before = current_decision(session, bill.psn_no)
    if before is None:
        return
    event: CreditEvent = (
        BillRepaidOnTime(bill.bill_id)
        if bill.overdue_at is None
        else OverdueBillRepaid(bill.bill_id)
    )
    history = repayment_history(session, psn_no=bill.psn_no, now=container.clock.now())
    decision = record_event(
        session,
        config=container.credit_config,
        clock=container.clock,
        psn_no=bill.psn_no,
        event=event,
        history=history,
    )
    sync_line(session, psn_no=bill.psn_no, line=decision.line, clock=container.clock)
    notices.credit_moved(
        session,
        settings=container.settings,
        people=container.insurance_platform(session),
        psn_no=bill.psn_no,
        before=before,
        after=decision,
        now=container.clock.now(),
    )


def _fail(
    session: Session, container: Container, bill: Bill, record: BillSettlement, *, now: datetime
) -> None:
    voids = [
        TransferRequest(
            id=f"{leg['id']}:void",
            kind="void_pending",
            pending_id=leg["id"],
            code=f"repay_{leg['source']}_void",
            reference=bill.bill_id,
        )
        for leg in record.transfers
    ]
    create_transfers(session, voids, clock=container.clock)
    lock_person(session, bill.psn_no)
    release_reservation(session, container, record, now=now)
    record.status = "voided"
    record.voided_at = now
    target = {
        bill_states.PAYING: bill_states.BILLED,
        bill_states.PAYING_LATE: bill_states.OVERDUE,
    }.get(bill.status, bill.status)
    change_status(
        session, bill, target, kind="payment_failed", now=now, detail={"setl_id": record.setl_id}
    )
    session.flush()
    notices.payment_failed(
        session,
        settings=container.settings,
        people=container.insurance_platform(session),
        bill=bill,
        record=record,
        now=now,
    )
    count_on_commit(session, PAYMENTS.labels("failed", "").inc)


def release_reservation(
    session: Session, container: Container, record: BillSettlement, *, now: datetime
) -> None:
    """Give back what a settlement consumed: the accumulators, then the personal account."""
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
    if record.acct_own_pay_fen:
        container.insurance_platform(session).credit_personal_account(
            record.psn_no, from_fen(record.acct_own_pay_fen)
        )
    if record.acct_mulaid_pay_fen:
        # Mutual aid goes back to the family manager who paid (settlement.family).
        container.insurance_platform(session).credit_personal_account(
            record.payer_psn_no, from_fen(record.acct_mulaid_pay_fen)
        )


# -- callbacks -------------------------------------------------------------------------------------


#: The largest ``seq`` a callback may carry (the column is a 32-bit integer).
MAX_CALLBACK_SEQ = 2**31 - 1


def _is_seq(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_CALLBACK_SEQ


def stored_callback_body(body: bytes, *, signed: bool) -> str:
    """What the callback log keeps of a body: a provider's signed one (its first 4,000
    characters), or only the SHA-256 of one nobody signed, since anyone can send those."""
    if signed:
        return body.decode("utf-8", errors="replace")[:4000]
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def receive_callback(
    uow: UnitOfWork,
    *,
    container: Container,
    provider: str,
    body: bytes,
    signature: str | None,
) -> CallbackOutcome:
    """Verify, record and apply one provider callback; repeats and stale ones change nothing.

    The log row is written whatever the outcome; the caller commits, refusals included.
    """
    session = uow.session
    now = container.clock.now()
    parsed: dict[str, Any] = {}

    def answer(outcome: str, status: int, message: str, *, signed: bool = True) -> CallbackOutcome:
        session.add(
            WalletCallbackLog(
                provider=provider[:16],
                order_id=_text(parsed.get("order_id"), 40),
                seq=parsed["seq"] if _is_seq(parsed.get("seq")) else None,
                status=_text(parsed.get("status"), 16),
                amount=_text(parsed.get("amount"), 32),
                signature_ok=signed,
                outcome=outcome,
                detail=message[:300],
                body=stored_callback_body(body, signed=signed),
                received_at=now,
            )
        )
        session.flush()
        return CallbackOutcome(outcome, status, message, _text(parsed.get("order_id"), 40))

    if provider not in PROVIDERS:
        return answer("unknown_provider", 404, f"no wallet provider {provider}", signed=False)
    if not signature_ok(container.settings.wallet_secret, body, signature):
        try:
            loaded = json.loads(body)
            parsed = loaded if isinstance(loaded, dict) else {}
        except (ValueError, RecursionError):
            parsed = {}
        return answer("bad_signature", 401, "the signature does not verify", signed=False)
    try:
        loaded = json.loads(body)
        if not isinstance(loaded, dict):
            raise ValueError("not an object")
        parsed = loaded
        order_id, txn, status, seq = (
            loaded["order_id"],
            loaded["provider_txn_id"],
            loaded["status"],
            loaded["seq"],
        )
        if not isinstance(order_id, str) or not isinstance(txn, str):
            raise ValueError("order_id and provider_txn_id are strings")
        if "\x00" in order_id or "\x00" in txn:
            raise ValueError("order_id and provider_txn_id hold no NUL character")
        if status not in ("SUCCESS", "FAIL"):
            raise ValueError("status is SUCCESS or FAIL")
        if not _is_seq(seq):
            raise ValueError(f"seq is a whole number from 0 to {MAX_CALLBACK_SEQ}")
        amount = parse_amount(loaded["amount"], name="amount")
    except (ValueError, KeyError, MoneyError) as error:
        return answer("malformed", 400, f"malformed callback: {error}")
    except RecursionError:
        return answer("malformed", 400, "malformed callback: nested too deeply")

    found = session.get(WalletOrder, order_id)
    if found is None or found.provider != provider:
        return answer("unknown_order", 404, f"no {provider} order {order_id}")
    bill = lock_bill(session, found.bill_id)
    order = session.get(WalletOrder, order_id, with_for_update=True, populate_existing=True)
    assert bill is not None and order is not None
    if to_fen(amount) != order.amount_fen:
        return answer(
            "amount_mismatch",
            400,
            f"the order is for {from_fen(order.amount_fen)}, the callback says {amount}",
        )
    if order.status != "pending":
        same = (status == "SUCCESS") == (order.status == "succeeded")
        if same:
            return answer("duplicate", 200, f"order {order_id} is already {order.status}")
        return answer("ignored", 200, f"order {order_id} is already {order.status}: kept")
    apply_order_outcome(
        session,
        container,
        bill,
        order,
        succeeded=status == "SUCCESS",
        provider_txn_id=txn,
        seq=seq,
        now=now,
    )
    return answer("applied", 200, f"order {order_id} {order.status}")


def apply_order_outcome(
    session: Session,
    container: Container,
    bill: Bill,
    order: WalletOrder,
    *,
    succeeded: bool,
    provider_txn_id: str,
    seq: int,
    now: datetime,
) -> None:
    """Confirm or fail a pending order's settlement, as the provider reported it.

    The one path for a callback and for the answer to a query
    (``settlement.usecases.paying.pending``); the caller holds the bill's and the order's row
    locks and has checked the order is pending.
    """
    record = session.get(BillSettlement, order.setl_id, with_for_update=True)
    assert record is not None and record.status == "pending"
    if succeeded:
        _confirm(session, container, bill, record, now=now)
        order.status = "succeeded"
    else:
        _fail(session, container, bill, record, now=now)
        order.status = "failed"
    order.provider_txn_id = provider_txn_id
    order.last_seq = seq
    order.updated_at = now


def _text(value: object, limit: int) -> str | None:
    # What a callback said, for the log: PostgreSQL text cannot hold NUL, anyone can send one.
    return value.replace("\x00", "\ufffd")[:limit] if isinstance(value, str) else None


def deliver_due_callbacks(
    container: Container, *, include_delayed: bool = False, limit: int = 500
) -> list[CallbackOutcome]:
    """Deliver the sandbox provider's queued callbacks, each in its own transaction.

    Run it after the transaction that created the orders has committed. ``delay`` callbacks wait
    for ``include_delayed=True`` (the scheduler's run). A callback is delivered exactly once.
    """
    with container.uow() as uow:
        query = select(SandboxWalletCallback.id).where(SandboxWalletCallback.delivered_at.is_(None))
        if not include_delayed:
            query = query.where(SandboxWalletCallback.delayed.is_(False))
        due = list(uow.session.scalars(query.order_by(SandboxWalletCallback.id).limit(limit)))
    outcomes: list[CallbackOutcome] = []
    for callback_id in due:
        try:
            with container.uow() as uow:
                row = uow.session.get(SandboxWalletCallback, callback_id, with_for_update=True)
                if row is None or row.delivered_at is not None:
                    continue
                outcome = receive_callback(
                    uow,
                    container=container,
                    provider=row.provider,
                    body=row.body.encode(),
                    signature=row.signature,
                )
                row.delivered_at = container.clock.now()
                row.outcome = outcome.outcome
                uow.commit()
            outcomes.append(outcome)
        except Exception:  # one bad callback must not hold up the others
            logger.exception("delivering sandbox wallet callback %s failed", callback_id)
    return outcomes


def payment_of(
    session: Session, *, order_id: str, psn_no: str
) -> tuple[WalletOrder, BillSettlement]:
    """A wallet payment and its settlement, for the patient whose bill it paid or the family
    manager who made it; anyone else's is not found."""
    order = session.get(WalletOrder, order_id)
    record = None if order is None else session.get(BillSettlement, order.setl_id)
    if order is None or record is None or psn_no not in (order.psn_no, record.payer_psn_no):
        raise ServiceError("not_found", f"no payment {order_id}")
    return order, record


__all__ = [
    "CallbackOutcome",
    "PaymentResult",
    "WalletPayment",
    "apply_order_outcome",
    "confirm_payment",
    "deliver_due_callbacks",
    "fail_payment",
    "payment_of",
    "receive_callback",
    "start_payment",
]
