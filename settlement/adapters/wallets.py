"""The wallet port (WeChat Pay / Alipay style), callback signing, and the sandbox provider.

A provider takes payment orders and answers asynchronously with a signed callback, posted to
``POST /v1/wallets/{provider}/notify``: the JSON body ``{order_id, provider_txn_id, amount, status,
seq, sent_at}`` (``status`` ``SUCCESS`` or ``FAIL``), signed with HMAC-SHA256 under the shared
``settings.wallet_secret``, the lowercase hex digest in the ``X-Wallet-Signature`` header.

The sandbox provider keeps its state in tables (so it works across processes and transactions):
its next behaviour (``succeed`` | ``fail`` | ``delay``), its orders, the callbacks it will deliver,
refunds and withholding agreements. Callbacks are queued in the same transaction as the order and
delivered after it commits by :func:`settlement.usecases.paying.payments.deliver_due_callbacks`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from sqlalchemy import BindParameter, Table, bindparam, func, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from insurance.money import format_amount, from_fen, to_fen
from settlement.adapters.wallet_tables import (
    PROVIDERS,
    SandboxWalletAgreement,
    SandboxWalletBehaviour,
    SandboxWalletCallback,
    SandboxWalletOrder,
    SandboxWalletRefund,
)
from settlement.foundation.clock import Clock
from settlement.foundation.db import execute_on_connection
from settlement.foundation.errors import ServiceError

SIGNATURE_HEADER = "X-Wallet-Signature"
Behaviour = Literal["succeed", "fail", "delay"]
BEHAVIOURS: tuple[Behaviour, ...] = ("succeed", "fail", "delay")
CallbackStatus = Literal["SUCCESS", "FAIL"]


@dataclass(frozen=True, slots=True)
class ProviderOrder:
    """An order as the provider reports it when queried."""

    order_id: str
    status: Literal["pending", "succeeded", "failed"]
    amount: Decimal
    provider_txn_id: str


class WalletProvider(Protocol):
    """One wallet provider; bound to the caller's session so its side effects commit with ours."""

    name: str

    def create_order(
        self, order_id: str, amount: Decimal, description: str, *, withholding: bool = False
    ) -> str:
        """Open a payment order for ``amount``; returns the provider's reference."""
        ...

    def query(self, order_id: str) -> ProviderOrder | None:
        """The provider's view of an order, or ``None`` if it does not know it."""
        ...

    def refund(self, order_id: str, refund_id: str, amount: Decimal) -> str:
        """Refund ``amount`` of a paid order; the same ``refund_id`` again changes nothing."""
        ...

    def sign_agreement(self, psn_no: str) -> None:
        """Record a withholding agreement (auto-pay) for the patient."""
        ...

    def revoke_agreement(self, psn_no: str) -> None:
        """End the patient's withholding agreement."""
        ...

    def has_agreement(self, psn_no: str) -> bool:
        """Whether the patient has a withholding agreement in force."""
        ...


class WalletFactory(Protocol):
    def __call__(
        self, session: Session, *, provider: str, secret: str, clock: Clock
    ) -> WalletProvider: ...


# -- signing ---------------------------------------------------------------------------------------


def sign_callback(secret: str, body: bytes) -> str:
    """The ``X-Wallet-Signature`` of ``body``: lowercase hex HMAC-SHA256 under ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of a callback's signature."""
    if not signature:
        return False
    return hmac.compare_digest(sign_callback(secret, body), signature.strip().lower())


def callback_body(
    *,
    order_id: str,
    provider_txn_id: str,
    amount: Decimal,
    status: CallbackStatus,
    seq: int,
    sent_at: datetime,
) -> bytes:
    """A callback body as a provider sends it (amount as a two-place string)."""
    return json.dumps(
        {
            "order_id": order_id,
            "provider_txn_id": provider_txn_id,
            "amount": format_amount(amount),
            "status": status,
            "seq": seq,
            "sent_at": sent_at.isoformat(),
        },
        separators=(",", ":"),
    ).encode()


# -- the sandbox provider --------------------------------------------------------------------------


def set_behaviour(
    session: Session, *, provider: str, next_behaviour: str, repeat: bool, now: datetime
) -> SandboxWalletBehaviour:
    """Set what the sandbox provider does with its next order (or every order, with ``repeat``)."""
    if provider not in PROVIDERS:
        raise ServiceError("not_found", f"no wallet provider {provider}")
    if next_behaviour not in BEHAVIOURS:
        raise ServiceError("validation_error", f"next must be one of {', '.join(BEHAVIOURS)}")
    row = session.get(SandboxWalletBehaviour, provider, with_for_update=True)
    if row is None:
        row = SandboxWalletBehaviour(provider=provider)
        session.add(row)
    row.next = next_behaviour
    row.repeat = repeat
    row.updated_at = now
    session.flush()
    return row


class SandboxWallet:
    """A provider of the sandbox: answers every order with a real signed callback."""

    def __init__(self, session: Session, *, provider: str, secret: str, clock: Clock) -> None:
        if provider not in PROVIDERS:
            raise ServiceError("not_found", f"no wallet provider {provider}")
        self.session = session
        self.name = provider
        self.secret = secret
        self.clock = clock

    def create_order(
        self, order_id: str, amount: Decimal, description: str, *, withholding: bool = False
    ) -> str:
        # The behaviour set for the next order, locked; it is used up only by an order this call
        # opens (a repeat of an order id answers the first order's reference and changes nothing).
        now = self.clock.now()
        reference = f"{self.name[:2].upper()}{secrets.token_hex(10).upper()}"
        txn = f"T{secrets.token_hex(12).upper()}"
        bodies = {
            status: callback_body(
                order_id=order_id,
                provider_txn_id=txn,
                amount=amount,
                status=status,
                seq=1,
                sent_at=now,
            )
            for status in ("SUCCESS", "FAIL")
        }
        order = {
            "order_id": order_id,
            "provider": self.name,
            "provider_ref": reference,
            "amount_fen": to_fen(amount),
            "description": description[:200],
            "provider_txn_id": txn,
            "withholding": withholding,
            "created_at": now,
        }
        if self.session.get_bind().dialect.name == "postgresql":
            opened = self._open_in_one(order, bodies)
        else:
            opened = self._open_in_steps(order, bodies)
        if opened is None:
            return self.session.get_one(SandboxWalletOrder, order_id).provider_ref
        return opened

    def _open_in_one(self, order: dict[str, Any], bodies: dict[str, bytes]) -> str | None:
        """PostgreSQL, one statement: the behaviour locked and read, the order inserted with
        the status it decides (unless the order's id is taken), its callback queued, and a
        one-off behaviour used up; the reference of the order opened, or of the order that held
        the id, or ``None`` (an order another writer opened since this statement began)."""
        parameters = {
            **order,
            **{f"{status.lower()}_body": body.decode() for status, body in bodies.items()},
            **{
                f"{status.lower()}_signature": sign_callback(self.secret, body)
                for status, body in bodies.items()
            },
        }
        reference: str | None = execute_on_connection(
            self.session, _OPEN_IN_ONE, parameters
        ).scalar_one()
        # A copy of the behaviour this session loaded earlier (set_behaviour's): read it afresh.
        loaded = self.session.identity_map.get(
            self.session.identity_key(SandboxWalletBehaviour, self.name)
        )
        if loaded is not None:
            self.session.expire(loaded)
        return reference

    def _open_in_steps(self, order: dict[str, Any], bodies: dict[str, bytes]) -> str | None:
        """SQLite (no writes in ``WITH``): the behaviour read (writers are serialised), then the
        order, then its callback; the reference of the order opened, ``None`` if the id was
        taken."""
        behaviours = self.session.get(SandboxWalletBehaviour, self.name, with_for_update=True)
        behaviour = "succeed" if behaviours is None else behaviours.next
        succeeded = behaviour != "fail"
        status = "succeeded" if succeeded else "failed"
        opened = execute_on_connection(
            self.session, _OPEN_ORDER, {**order, "status": status}
        ).first()
        if opened is None:
            return None
        body = bodies["SUCCESS" if succeeded else "FAIL"]
        self.session.add(
            SandboxWalletCallback(
                provider=self.name,
                order_id=order["order_id"],
                body=body.decode(),
                signature=sign_callback(self.secret, body),
                delayed=behaviour == "delay",
                created_at=order["created_at"],
            )
        )
        self.session.flush()
        if behaviours is not None and not behaviours.repeat and behaviour != "succeed":
            behaviours.next = "succeed"
            behaviours.updated_at = order["created_at"]
        return str(order["provider_ref"])

    def query(self, order_id: str) -> ProviderOrder | None:
        row = self.session.get(SandboxWalletOrder, order_id)
        if row is None or row.provider != self.name:
            return None
        status: Literal["pending", "succeeded", "failed"] = (
            "succeeded" if row.status == "succeeded" else "failed"
        )
        return ProviderOrder(order_id, status, from_fen(row.amount_fen), row.provider_txn_id)

    def refund(self, order_id: str, refund_id: str, amount: Decimal) -> str:
        if self.session.get(SandboxWalletRefund, refund_id) is not None:
            return refund_id
        order = self.session.get(SandboxWalletOrder, order_id, with_for_update=True)
        if order is None or order.status != "succeeded":
            raise ServiceError("conflict", f"wallet order {order_id} was not paid")
        refunded = self.session.scalar(
            select(func.coalesce(func.sum(SandboxWalletRefund.amount_fen), 0)).where(
                SandboxWalletRefund.order_id == order_id
            )
        )
        if int(refunded or 0) + to_fen(amount) > order.amount_fen:
            raise ServiceError("conflict", f"refunds of {order_id} would exceed what was paid")
        self.session.add(
            SandboxWalletRefund(
                refund_id=refund_id,
                provider=self.name,
                order_id=order_id,
                amount_fen=to_fen(amount),
                created_at=self.clock.now(),
            )
        )
        self.session.flush()
        return refund_id

    def sign_agreement(self, psn_no: str) -> None:
        row = self.session.get(SandboxWalletAgreement, (self.name, psn_no))
        if row is None:
            row = SandboxWalletAgreement(provider=self.name, psn_no=psn_no)
            self.session.add(row)
        row.signed_at = self.clock.now()
        row.revoked_at = None
        self.session.flush()

    def revoke_agreement(self, psn_no: str) -> None:
        row = self.session.get(SandboxWalletAgreement, (self.name, psn_no))
        if row is not None and row.revoked_at is None:
            row.revoked_at = self.clock.now()
            self.session.flush()

    def has_agreement(self, psn_no: str) -> bool:
        row = self.session.get(SandboxWalletAgreement, (self.name, psn_no))
        return row is not None and row.revoked_at is None


def _typed(table: Table, name: str, prefix: str = "") -> BindParameter[Any]:
    return bindparam(f"{prefix}{name}", type_=table.c[name].type)


_ORDERS = SandboxWalletOrder.__table__
_CALLBACKS = SandboxWalletCallback.__table__
assert isinstance(_ORDERS, Table) and isinstance(_CALLBACKS, Table)
_ORDER_COLUMNS = (
    "order_id",
    "provider",
    "provider_ref",
    "amount_fen",
    "description",
    "status",
    "provider_txn_id",
    "withholding",
    "created_at",
)
#: Built once (every payment opens an order), its values bound: the order, unless its id is taken
#: (SQLite).
_OPEN_ORDER = (
    sqlite_insert(_ORDERS)
    .values({name: _typed(_ORDERS, name) for name in _ORDER_COLUMNS})
    .on_conflict_do_nothing(index_elements=["order_id"])
    .returning(_ORDERS.c.order_id)
)
#: PostgreSQL, built once: what :meth:`SandboxWallet._open_in_one` does, in one statement. The
#: behaviour's row is locked first (``behaviour``), every later part reads what it read; the
#: one-off behaviour is reset only when the order was opened. The callback's body and signature
#: are bound for both outcomes (``success_*``, ``fail_*``) and the behaviour picks one.
_OPEN_IN_ONE = text(
    """
WITH behaviour AS (
    SELECT next, repeat FROM sandbox_wallet_behaviours WHERE provider = :provider FOR UPDATE
), chosen AS (
    SELECT coalesce((SELECT next FROM behaviour), 'succeed') AS next
), opened AS (
    INSERT INTO sandbox_wallet_orders (order_id, provider, provider_ref, amount_fen,
        description, status, provider_txn_id, withholding, created_at)
    SELECT :order_id, :provider, :provider_ref, :amount_fen, :description,
        CASE WHEN chosen.next = 'fail' THEN 'failed' ELSE 'succeeded' END,
        :provider_txn_id, :withholding, :created_at
    FROM chosen
    ON CONFLICT (order_id) DO NOTHING
    RETURNING order_id, provider_ref
), queued AS (
    INSERT INTO sandbox_wallet_callbacks (provider, order_id, body, signature, delayed,
        created_at)
    SELECT :provider, opened.order_id,
        CASE WHEN chosen.next = 'fail' THEN :fail_body ELSE :success_body END,
        CASE WHEN chosen.next = 'fail' THEN :fail_signature ELSE :success_signature END,
        chosen.next = 'delay', :created_at
    FROM opened, chosen
    RETURNING id
), used AS (
    UPDATE sandbox_wallet_behaviours SET next = 'succeed', updated_at = :created_at
    FROM behaviour, opened
    WHERE sandbox_wallet_behaviours.provider = :provider
        AND NOT behaviour.repeat AND behaviour.next <> 'succeed'
    RETURNING 1
)
SELECT coalesce(
    (SELECT provider_ref FROM opened),
    (SELECT provider_ref FROM sandbox_wallet_orders WHERE order_id = :order_id)
)
"""
).bindparams(
    *(_typed(_ORDERS, name) for name in _ORDER_COLUMNS if name != "status"),
    *(
        _typed(_CALLBACKS, column, f"{status}_")
        for status in ("success", "fail")
        for column in ("body", "signature")
    ),
)
