"""A payment's writes sent as one statement (PostgreSQL's writable CTEs) and one after another
(the path SQLite takes) leave identical rows: the settlement, the bill's moves and history, the
wallet order, the accumulators, for a payment started then settled, one started then failed,
and a bill the fund and the account cover (settled when made, no wallet)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select

from settlement.adapters.wallets import callback_body, sign_callback
from settlement.billing.accumulators import AccumulatorRow
from settlement.billing.payment_tables import BillSettlement, WalletOrder
from settlement.billing.tables import Bill, BillEvent
from settlement.foundation import writes
from settlement.usecases.paying.payments import receive_callback, start_payment
from tests.harness import Service
from tests.integration.payments.support import AMOXICILLIN, HEALTH_ADVICE, bill_for

TABLES = {"bills": Bill, "bill_events": BillEvent, "bill_settlements": BillSettlement}


def story(service: Service, his: Any, *, wallet: str) -> str:
    """A patient's bill paid as ``wallet`` says (``SUCCESS``, ``FAIL`` or ``none``: covered)."""
    balance = "900.00" if wallet == "none" else "100.00"
    person, _ = service.enrol(balc=balance)
    bill_id, _ = bill_for(his, person.psn_no, (AMOXICILLIN, "300", "1"), (HEALTH_ADVICE, "30", "1"))
    if wallet == "none":
        return bill_id
    container = service.container
    with container.uow() as uow:
        result = start_payment(
            uow, container=container, bill_id=bill_id, payer_psn_no=person.psn_no, provider="wechat"
        )
        uow.commit()
    assert result.payment is not None
    body = callback_body(
        order_id=result.payment.payment_id,
        provider_txn_id=f"T{uuid.uuid4().hex[:20].upper()}",
        amount=result.payment.amount,
        status=wallet,
        seq=1,
        sent_at=container.clock.now(),
    )
    with container.uow() as uow:
        outcome = receive_callback(
            uow,
            container=container,
            provider="wechat",
            body=body,
            signature=sign_callback(container.settings.wallet_secret, body),
        )
        uow.commit()
    assert outcome.outcome == "applied", outcome
    return bill_id


def rows_of(engine: Engine, bill_id: str) -> str:
    """Every row the payment wrote for the bill, its own identifiers replaced by placeholders
    (each story has its own patient, bill, settlements and orders; the clock is frozen)."""
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name, model in {**TABLES, "wallet_orders": WalletOrder}.items():
            table = model.__table__
            query = select(table).where(table.c.bill_id == bill_id).order_by(*table.primary_key)
            found[name] = [dict(row._mapping) for row in connection.execute(query)]
    accumulators = AccumulatorRow.__table__
    with engine.connect() as connection:
        patient = found["bills"][0]["psn_no"]
        query = select(accumulators).where(accumulators.c.psn_no == patient)
        found["insurance_accumulators"] = [dict(row._mapping) for row in connection.execute(query)]
    for event in found["bill_events"]:
        del event["id"]  # the sequence's: the stories run one after the other
    names = {found["bills"][0]["bill_id"]: "BILL", found["bills"][0]["mdtrt_id"]: "VISIT"}
    names[found["bills"][0]["psn_no"]] = "PATIENT"
    for number, row in enumerate(found["bill_settlements"]):
        names[row["setl_id"]] = f"SETTLEMENT{number}"
        names |= {line: f"LINE{n}" for n, line in enumerate(row["lines"])}
    for number, row in enumerate(found["wallet_orders"]):
        names |= {row["order_id"]: f"ORDER{number}", row["provider_ref"]: f"REF{number}"}
        names[row["provider_txn_id"]] = f"TXN{number}"
    text = json.dumps(found, default=str, sort_keys=True)
    for name, placeholder in sorted(names.items(), key=lambda item: -len(item[0])):
        # Long ids wherever they are (a leg's id holds its settlement's); line numbers (F3) whole.
        if len(name) >= 8:
            text = text.replace(name, placeholder)
        else:
            text = text.replace(f'"{name}"', f'"{placeholder}"')
    return text


@pytest.mark.postgres
@pytest.mark.parametrize("wallet", ["SUCCESS", "FAIL", "none"])
def test_one_statement_and_one_each_write_identical_rows(
    service: Service, his: Any, engine: Engine, postgres_only: None, monkeypatch, wallet: str
):
    combined = rows_of(engine, story(service, his, wallet=wallet))
    monkeypatch.setattr(writes, "COMBINED", frozenset())
    one_each = rows_of(engine, story(service, his, wallet=wallet))

    assert one_each == combined
    assert '"insurance_accumulators": [{' in combined
    assert '"to_status": "settled"' in combined or wallet == "FAIL"
    assert ('"status": "voided"' in combined) == (wallet == "FAIL")
