"""Paying a bill, the transaction: read the facts, decide, write (see ``payments`` for the story).

Every function runs in the caller's unit of work and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from insurance.modes import at_repayment
from insurance.money import ZERO, from_fen, to_fen
from insurance.split import RelativeAccount, Settlement
from settlement.adapters.wallet_tables import PROVIDERS
from settlement.adapters.wallets import WalletProvider
from settlement.billing.accumulators import accumulators_stored
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill
from settlement.foundation.errors import ServiceError
from settlement.foundation.ids import new_id
from settlement.foundation.metrics import PAYMENTS, count_on_commit
from settlement.foundation.ports import InsurancePlatform
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.foundation.writes import inserted, write_all
from settlement.usecases.charging.visits import bill_split
from settlement.usecases.family.links import can_pay_bill, mutual_aid_accounts
from settlement.usecases.family.sharing import bill_line_shares
from settlement.usecases.movements.resolve import leftovers
from settlement.usecases.movements.resolve import write as resolve_movement
from settlement.usecases.paying import decide, facts, write
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.outcomes import settle


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
    #: The version of the split taken (:func:`settlement.usecases.paying.decide.split_version`).
    split_version: str = ""

    @property
    def setlinfo(self) -> dict[str, str]:
        """The contract's setlinfo, with ``setl_id``."""
        return {**self.settlement.setlinfo, "setl_id": self.settlement.setl_id}


def wallet_for(container: PayingContext, session: Session, provider: str) -> WalletProvider:
    """The provider ``provider`` bound to ``session``."""
    return container.wallets(
        session, provider=provider, secret=container.settings.wallet_secret, clock=container.clock
    )


def authorise_withholding(
    container: PayingContext, session: Session, *, psn_no: str, provider: str
) -> None:
    """Record the patient's withholding agreement (无感支付) with ``provider``: auto-pay
    (``autopay`` chosen when signing) charges it; a repeat keeps it in force."""
    wallet_for(container, session, provider).sign_agreement(psn_no)


def revoke_withholding(
    container: PayingContext, session: Session, *, psn_no: str, provider: str
) -> None:
    """End the patient's withholding agreement with ``provider``; auto-pay then skips it."""
    wallet_for(container, session, provider).revoke_agreement(psn_no)


# -- starting a payment ----------------------------------------------------------------------------


def start_payment(
    uow: UnitOfWork,
    *,
    container: PayingContext,
    bill_id: str,
    payer_psn_no: str,
    provider: str,
    channel: str = "app",
    split_version: str | None = None,
) -> PaymentResult:
    """Settle the bill now: split, reserve, pending transfers and a wallet order for the rest.

    ``split_version``: the split the payer was shown (:func:`preview_payment`); when paying now
    would take another (a balance moved), nothing is taken and ``split_changed`` says the new one.
    """
    try:
        bill = _payable_bill(
            uow.session, bill_id=bill_id, payer_psn_no=payer_psn_no, provider=provider
        )
        result = _settle(
            uow.session,
            container,
            bill,
            payer_psn_no=payer_psn_no,
            provider=provider,
            channel=channel,
            expected=split_version,
        )
    except ServiceError as refusal:
        PAYMENTS.labels("refused", refusal.code).inc()
        raise
    count_on_commit(uow.session, PAYMENTS.labels("started", "").inc)
    return result


def _payable_bill(session: Session, *, bill_id: str, payer_psn_no: str, provider: str) -> Bill:
    """The bill, locked, if ``payer_psn_no`` may pay it now with ``provider``; else the refusal."""
    refusal = decide.provider_refusal(provider, PROVIDERS)
    if refusal is not None:
        raise refusal
    bill = facts.lock_bill(session, bill_id)
    may_pay = bill is not None and can_pay_bill(session, payer_psn_no, bill)
    refusal = decide.start_refusal(
        bill_id=bill_id,
        status=None if bill is None else bill.status,
        may_pay=may_pay,
        under_way=facts.payment_under_way(session, bill) if bill and may_pay else None,
    )
    if refusal is not None:
        raise refusal
    assert bill is not None
    return bill


def _settle(
    session: Session,
    container: PayingContext,
    bill: Bill,
    *,
    payer_psn_no: str,
    provider: str,
    channel: str,
    expected: str | None,
) -> PaymentResult:
    inputs, split = split_now(session, container, bill, payer_psn_no=payer_psn_no)
    return take(
        session,
        container,
        bill,
        inputs,
        split,
        payer_psn_no=payer_psn_no,
        provider=provider,
        channel=channel,
        expected=expected,
    )


def split_now(
    session: Session, container: PayingContext, bill: Bill, *, payer_psn_no: str
) -> tuple[facts.SplitFacts, Settlement]:
    """The split paying now would take, with the people it draws on locked until commit."""

    def offered() -> list[RelativeAccount]:
        return mutual_aid_accounts(
            session, container=container, payer_psn_no=payer_psn_no, bill=bill
        )

    # What an earlier attempt left with the platform is resolved first (a remote platform only).
    taken_over = leftovers(
        session, container.insurance_platform(session), bill, now=container.clock.now()
    )
    inputs = facts.lock_split_inputs(session, bill, offered)
    if taken_over is not None:
        inputs = replace(inputs, taken_over=taken_over)
    return inputs, _split_of(session, container, bill, inputs)


def _split_of(
    session: Session, container: PayingContext, bill: Bill, inputs: facts.SplitFacts
) -> Settlement:
    # A debit the platform made for an earlier attempt is still this bill's money.
    held = ZERO if inputs.taken_over is None else from_fen(inputs.taken_over.amount_fen)
    return bill_split(
        container,
        session,
        bill=bill,
        visit=inputs.visit,
        hospital_level=inputs.hospital.level,
        lines=inputs.lines,
        relatives=inputs.relatives,
        held=held,
        accumulator_rows=inputs.accumulators,
    )


def _settlement_id(
    session: Session,
    platform: InsurancePlatform,
    inputs: facts.SplitFacts,
    split: Settlement,
    *,
    now: datetime,
) -> str:
    """A new settlement's id; or the id of the earlier attempt whose own-account debit the
    platform made, when this split takes the same amount: the debit is asked again with the same
    key, so the platform moves nothing more. A debit of another amount is given back first."""
    earlier = inputs.taken_over
    if earlier is None:
        return new_id("ST", now)
    if to_fen(split.acct_own_pay) == earlier.amount_fen:
        return earlier.reference
    resolve_movement(session, platform, earlier, "moved", now=now)
    return new_id("ST", now)


def take(
    session: Session,
    container: PayingContext,
    bill: Bill,
    inputs: facts.SplitFacts,
    split: Settlement,
    *,
    payer_psn_no: str,
    provider: str | None,
    channel: str,
    expected: str | None,
    paid_order: WalletOrder | None = None,
) -> PaymentResult:
    """Reserve and write ``split``: pending transfers, the settlement, then the wallet order for
    the cash part, or, with nothing for the wallet, the settlement confirmed at once.

    ``paid_order``: a wallet order the provider already took the cash part on (a payment that
    succeeded after it was recorded failed, ``settlement.usecases.paying.anomalies``); the
    settlement takes it and is confirmed at once."""
    platform = container.insurance_platform(session)
    now = container.clock.now()
    info = split.setlinfo
    amounts = decide.taken_amounts(split)
    version = decide.split_version(amounts)
    refusal = decide.split_changed_refusal(
        expected=expected, version=version, setlinfo=info.as_dict()
    )
    if refusal is not None:
        raise refusal
    setl_id = _settlement_id(session, platform, inputs, split, now=now)
    wallet_provider = provider if info.psn_cash_pay > 0 else None
    # The wallet order's id is chosen now, so the settlement is inserted with it.
    order_id = new_id("PY", now) if wallet_provider is not None and paid_order is None else None
    assert wallet_provider is not None or info.psn_cash_pay == 0, "cash needs a wallet"
    stores = at_repayment(split, bill.settlement_mode).stores_accumulators
    # The accumulators are stored with the settlement's write (below), the accounts debited now.
    write.reserve(
        session,
        platform,
        bill_id=bill.bill_id,
        setl_id=setl_id,
        psn_no=bill.psn_no,
        split=split,
        now=now,
        accumulators=False,
    )
    legs = decide.plan_legs(
        setl_id,
        bill,
        amounts,
        bill_line_shares(session, bill, shared=inputs.shared),
        at_close=bill.fund_settlement,
    )
    write.pending_transfers(
        session,
        bill=bill,
        payer_psn_no=payer_psn_no,
        wallet_provider=wallet_provider,
        legs=legs,
        clock=container.clock,
    )
    record = write.new_settlement(
        setl_id=setl_id,
        bill=bill,
        payer_psn_no=payer_psn_no,
        channel=channel,
        wallet_provider=wallet_provider,
        split=split,
        facts=inputs,
        legs=legs,
        now=now,
        order_id=order_id if paid_order is None else paid_order.order_id,
    )
    # The settlement, the bill's move and its history row (and the wallet order): one write.
    writes = [
        *(
            [
                accumulators_stored(
                    session, psn_no=bill.psn_no, accumulators=split.accumulators, now=now
                )
            ]
            if stores
            else []
        ),
        inserted(session, record),
        *write.bill_move(
            bill,
            decide.paying_state(bill.status),
            kind="payment_started",
            now=now,
            amount_fen=record.medfee_sumamt_fen,
            detail={"setl_id": setl_id, "channel": channel, "provider": wallet_provider},
        ),
    ]
    if wallet_provider is None or paid_order is not None:
        write_all(session, writes)
        payment = None if paid_order is None else _attach_paid_order(paid_order, record, now=now)
        settle(session, container, bill, record, now=now)
        session.flush()
        return PaymentResult(bill=bill, settlement=record, payment=payment, split_version=version)
    order = _open_wallet_order(
        session, container, bill, record, cash=info.psn_cash_pay, channel=channel, now=now
    )
    write_all(session, [*writes, inserted(session, order)])
    payment = WalletPayment(order.order_id, order.provider, info.psn_cash_pay, "pending")
    return PaymentResult(bill=bill, settlement=record, payment=payment, split_version=version)


def _attach_paid_order(
    order: WalletOrder, record: BillSettlement, *, now: datetime
) -> WalletPayment:
    """Money the provider already took on ``order`` pays ``record``'s cash part (the amounts are
    equal: the caller checked; the settlement was written naming the order); the order now
    belongs to this settlement."""
    assert order.amount_fen == record.psn_cash_pay_fen, "a paid order pays exactly its amount"
    assert record.order_id == order.order_id
    order.setl_id = record.setl_id
    order.status = "succeeded"
    order.updated_at = now
    return WalletPayment(order.order_id, order.provider, from_fen(order.amount_fen), "succeeded")


def _open_wallet_order(
    session: Session,
    container: PayingContext,
    bill: Bill,
    record: BillSettlement,
    *,
    cash: Decimal,
    channel: str,
    now: datetime,
) -> WalletOrder:
    """Ask the provider for the cash part; our order (returned, to be written with the
    settlement) records what was asked."""
    assert record.provider is not None and record.order_id is not None
    order_id = record.order_id
    reference = wallet_for(container, session, record.provider).create_order(
        order_id,
        cash,
        f"舒心就医 账单 {bill.bill_id}",
        withholding=channel == "autopay",
    )
    return write.new_wallet_order(
        order_id=order_id,
        provider=record.provider,
        reference=reference,
        bill=bill,
        record=record,
        now=now,
    )


# -- the preview -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentPreview:
    """The split paying the bill now would take, source by source, and its version."""

    setlinfo: dict[str, str]
    split_version: str


def preview_payment(
    session: Session, *, container: PayingContext, bill: Bill, payer_psn_no: str
) -> PaymentPreview | None:
    """What :func:`start_payment` by ``payer_psn_no`` would take now (the same split, with the
    same mutual aid), changing nothing; ``None`` for a bill that cannot be paid now."""
    if bill.status not in decide.PAYABLE:
        return None
    relatives = mutual_aid_accounts(
        session, container=container, payer_psn_no=payer_psn_no, bill=bill
    )
    split = _split_of(session, container, bill, facts.split_inputs(session, bill, relatives))
    version = decide.split_version(decide.taken_amounts(split))
    return PaymentPreview(split.setlinfo.as_dict(), version)


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
