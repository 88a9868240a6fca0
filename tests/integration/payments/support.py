"""Helpers for the payment and refund tests: bills made over HTTP, logins, what each source holds."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from insurance.money import ZERO, from_fen
from insurance.policy import PolicyBook
from settlement.access.tokens import issue_token
from settlement.adapters.sandbox_tables import SandboxInsuredPerson
from settlement.adapters.wallets import SIGNATURE_HEADER, callback_body, sign_callback
from settlement.billing.accumulators import AccumulatorRow
from settlement.billing.credit_line import line_balances
from settlement.billing.payment_tables import BillSettlement, WalletCallbackLog, WalletOrder
from settlement.billing.tables import Bill
from settlement.foundation.ports import PersonRecord
from settlement.ledger import chart
from settlement.ledger.ledger import balances
from settlement.ledger.tables import LedgerAccount
from settlement.ledger.verify import verify_ledger
from tests.harness import HisClient, Service
from tests.log_scan import remember

REGISTRATION = "001101000010000"  # class A, price cap 1.00
HEALTH_ADVICE = "001110000010000"  # class C: all self-pay
EXPERT = "001102000040000"  # class B, self-pay 20 %, price cap 50.00
AMOXICILLIN = "XJ01CAA0460201011000000"  # class A, no cap
CO_AMOXICLAV = "XJ01CRA3050101011007000"  # class B, no cap

WALLET_SECRET = "sandbox-wallet-secret"


def bill_for(his: HisClient, psn_no: str, *lines: tuple[str, str, str]) -> tuple[str, list[str]]:
    """Open a visit, charge ``lines`` (code, pric, cnt), close it: the bill id and line numbers."""
    opened = his.open_visit(psn_no)
    assert opened.status_code == 201, opened.text
    mdtrt_id = opened.json()["mdtrt_id"]
    charged = his.charge(mdtrt_id, *lines)
    assert charged.status_code == 201, charged.text
    closed = his.post(f"/his/v1/visits/{mdtrt_id}/close")
    assert closed.status_code == 200, closed.text
    return closed.json()["bill_id"], [fee["feedetl_sn"] for fee in charged.json()["fees"]]


def top_up(service: Service, psn_no: str, amount: str) -> None:
    """Pay ``amount`` into the person's personal account (a contribution arriving)."""
    with service.container.uow() as uow:
        service.container.insurance_platform(uow.session).credit_personal_account(
            psn_no, Decimal(amount)
        )
        uow.commit()


def login(service: Service, person: PersonRecord) -> dict[str, str]:
    """A bearer header for ``person`` (issued directly: these tests are not about login)."""
    with service.container.uow() as uow:
        issued = issue_token(uow.session, psn_no=person.psn_no, now=service.clock.now())
        uow.commit()
    remember(issued.token)
    return {"Authorization": f"Bearer {issued.token}"}


def pay(
    service: Service, headers: dict[str, str], bill_id: str, wallet: str = "wechat", *, key=None
):
    return service.client.post(
        f"/v1/bills/{bill_id}/payments",
        json={"wallet": wallet},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


def set_behaviour(service: Service, behaviour: str, provider: str = "wechat", repeat=False):
    response = service.client.post(
        f"/sandbox/v1/wallets/{provider}/behaviour", json={"next": behaviour, "repeat": repeat}
    )
    assert response.status_code == 200, response.text
    return response


def notify(
    service: Service,
    *,
    order_id: str,
    amount: Decimal,
    status: str = "SUCCESS",
    seq: int = 1,
    provider: str = "wechat",
    txn: str = "T-1",
    secret: str = WALLET_SECRET,
    signature: str | None = None,
    sent_at: datetime | None = None,
):
    body = callback_body(
        order_id=order_id,
        provider_txn_id=txn,
        amount=amount,
        status=status,  # type: ignore[arg-type]
        seq=seq,
        sent_at=sent_at or service.clock.now(),
    )
    return service.client.post(
        f"/v1/wallets/{provider}/notify",
        content=body,
        headers={
            SIGNATURE_HEADER: signature if signature is not None else sign_callback(secret, body),
            "Content-Type": "application/json",
        },
    )


@dataclass(frozen=True)
class Snapshot:
    """What every source and the patient's line hold, to compare before and after."""

    pool_posted: Decimal
    account_posted: Decimal  # the personal account's ledger account: credits − debits
    wallet_posted: Decimal
    balc: Decimal
    deductible_used: Decimal
    hifp_paid: Decimal
    outstanding: Decimal
    available: Decimal
    pending: Decimal  # pending amounts on every source account


def _net(accounts, code: str) -> Decimal:
    account = accounts.get(code)
    if account is None:
        return ZERO
    return account.credits_posted - account.debits_posted


def snapshot(service: Service, psn_no: str, provider: str = "wechat") -> Snapshot:
    with service.container.uow() as uow:
        session = uow.session
        codes = [
            chart.POOLED_FUND,
            chart.patient_insurance_account(psn_no),
            chart.wallet_clearing(provider),
        ]
        existing = set(
            session.scalars(select(LedgerAccount.code).where(LedgerAccount.code.in_(codes)))
        )
        accounts = balances(session, existing)
        person = session.get(SandboxInsuredPerson, psn_no)
        rows = list(session.scalars(select(AccumulatorRow).where(AccumulatorRow.psn_no == psn_no)))
        line = line_balances(session, psn_no)
        pending = sum((a.debits_pending + a.credits_pending for a in accounts.values()), ZERO)
        return Snapshot(
            pool_posted=_net(accounts, chart.POOLED_FUND),
            account_posted=_net(accounts, chart.patient_insurance_account(psn_no)),
            wallet_posted=_net(accounts, chart.wallet_clearing(provider)),
            balc=from_fen(person.balc_fen),
            # Without a row, the platform's year-to-date is what the split would use.
            deductible_used=from_fen(
                rows[0].deductible_used_fen if rows else person.ytd_act_pay_dedc_fen
            ),
            hifp_paid=from_fen(rows[0].hifp_paid_fen if rows else person.ytd_hifp_pay_fen),
            outstanding=line.outstanding,
            available=line.available,
            pending=pending,
        )


def bill_row(service: Service, bill_id: str) -> Bill:
    with service.container.uow() as uow:
        bill = uow.session.get(Bill, bill_id)
        assert bill is not None
        uow.session.expunge(bill)
        return bill


def settlements(service: Service, bill_id: str) -> list[BillSettlement]:
    with service.container.uow() as uow:
        rows = list(
            uow.session.scalars(
                select(BillSettlement)
                .where(BillSettlement.bill_id == bill_id)
                .order_by(BillSettlement.created_at, BillSettlement.setl_id)
            )
        )
        uow.session.expunge_all()
        return rows


def order_row(service: Service, order_id: str) -> WalletOrder:
    with service.container.uow() as uow:
        row = uow.session.get(WalletOrder, order_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def callback_log(service: Service) -> list[WalletCallbackLog]:
    with service.container.uow() as uow:
        rows = list(uow.session.scalars(select(WalletCallbackLog).order_by(WalletCallbackLog.id)))
        uow.session.expunge_all()
        return rows


def assert_ledger_balanced(service: Service) -> None:
    with service.container.uow() as uow:
        report = verify_ledger(uow.session)
    assert report.ok, report.render()


def decode(response) -> dict:
    return json.loads(response.content)


def use_mode(service: Service, mode: str) -> None:
    """Every policy version of the service's book in settlement mode ``mode``."""
    book = service.container.policies
    service.container.policies = PolicyBook(  # type: ignore[misc]
        dataclasses.replace(policy, settlement_mode=mode) for policy in book.policies
    )
