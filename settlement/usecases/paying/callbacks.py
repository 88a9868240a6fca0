"""A wallet provider's signed callbacks: verify, record, apply (and the sandbox's delivery).

Every callback is logged whatever its outcome; the caller commits, refusals included.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.adapters.wallet_tables import PROVIDERS, SandboxWalletCallback
from settlement.adapters.wallets import signature_ok
from settlement.billing.payment_tables import WalletCallbackLog
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.foundation.writes import added
from settlement.usecases.paying import decide, facts
from settlement.usecases.paying.anomalies import reconcile
from settlement.usecases.paying.context import PayingContext
from settlement.usecases.paying.outcomes import apply_order_outcome

logger = logging.getLogger("shuxin.payments")


@dataclass(frozen=True)
class CallbackOutcome:
    """What a callback did: ``applied``, ``duplicate``, ``reconciled`` (accepted) or a refusal."""

    outcome: str
    http_status: int
    message: str
    order_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.http_status == 200


def stored_callback_body(body: bytes, *, signed: bool) -> str:
    """What the callback log keeps of a body: a provider's signed one (its first 4,000
    characters), or only the SHA-256 of one nobody signed, since anyone can send those."""
    if signed:
        return body.decode("utf-8", errors="replace")[:4000]
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def _text(value: object, limit: int) -> str | None:
    # What a callback said, for the log: PostgreSQL text cannot hold NUL, anyone can send one.
    return value.replace("\x00", "\ufffd")[:limit] if isinstance(value, str) else None


@dataclass
class _Log:
    """The log row of one callback, written with whatever answer it gets."""

    session: Session
    provider: str
    body: bytes
    now: datetime
    fields: dict[str, Any]

    def answer(
        self, outcome: str, status: int, message: str, *, signed: bool = True
    ) -> CallbackOutcome:
        self.session.add(self.row(outcome, message, signed=signed))
        self.session.flush()
        return self.answered(outcome, status, message)

    def row(self, outcome: str, message: str, *, signed: bool = True) -> WalletCallbackLog:
        """The log row of the answer ``outcome``, not yet written."""
        fields = self.fields
        return WalletCallbackLog(
            provider=self.provider[:16],
            order_id=_text(fields.get("order_id"), 40),
            seq=fields["seq"] if decide.is_seq(fields.get("seq")) else None,
            status=_text(fields.get("status"), 16),
            amount=_text(fields.get("amount"), 32),
            signature_ok=signed,
            outcome=outcome,
            detail=message[:300],
            body=stored_callback_body(self.body, signed=signed),
            received_at=self.now,
        )

    def answered(self, outcome: str, status: int, message: str) -> CallbackOutcome:
        """The answer whose log row was written (:meth:`row`, with the outcome's writes)."""
        return CallbackOutcome(outcome, status, message, _text(self.fields.get("order_id"), 40))


def _signed_fields(body: bytes) -> dict[str, Any]:
    """The signed body's object. Raises ``MalformedCallback`` when it holds none."""
    try:
        loaded = json.loads(body)
    except RecursionError:
        raise decide.MalformedCallback("nested too deeply") from None
    except ValueError as error:
        raise decide.MalformedCallback(str(error)) from None
    if not isinstance(loaded, dict):
        raise decide.MalformedCallback("not an object")
    return loaded


def receive_callback(
    uow: UnitOfWork,
    *,
    container: PayingContext,
    provider: str,
    body: bytes,
    signature: str | None,
) -> CallbackOutcome:
    """Verify, record and apply one provider callback; repeats and stale ones change nothing.

    The log row is written whatever the outcome; the caller commits, refusals included.
    """
    log = _Log(uow.session, provider, body, container.clock.now(), {})
    if provider not in PROVIDERS:
        return log.answer("unknown_provider", 404, f"no wallet provider {provider}", signed=False)
    if not signature_ok(container.settings.wallet_secret, body, signature):
        log.fields = decide.loose_fields(body)
        return log.answer("bad_signature", 401, "the signature does not verify", signed=False)
    try:
        log.fields = _signed_fields(body)
        callback = decide.parse_callback(log.fields)
    except decide.MalformedCallback as error:
        return log.answer("malformed", 400, f"malformed callback: {error}")
    return _apply(log, container, provider, callback)


def _apply(
    log: _Log, container: PayingContext, provider: str, callback: decide.Callback
) -> CallbackOutcome:
    """Apply a well-formed signed callback to its order, as :func:`decide.callback_verdict` says."""
    session = log.session
    locked = facts.locked_order(session, callback.order_id, provider)
    if locked is None:
        return log.answer("unknown_order", 404, f"no {provider} order {callback.order_id}")
    bill, order, record = locked
    verdict = decide.callback_verdict(
        order_status=order.status, order_amount_fen=order.amount_fen, callback=callback
    )
    if verdict.outcome == "amount_mismatch":
        return log.answer("amount_mismatch", 400, verdict.message)
    if verdict.outcome == "duplicate":
        return log.answer("duplicate", 200, verdict.message)
    if verdict.outcome == "contradicts":
        settled = reconcile(session, container, bill, order, callback, now=log.now)
        return log.answer(settled.outcome, 200, settled.message)
    message = f"order {callback.order_id} {'succeeded' if callback.succeeded else 'failed'}"
    apply_order_outcome(
        session,
        container,
        bill,
        order,
        succeeded=callback.succeeded,
        provider_txn_id=callback.provider_txn_id,
        seq=callback.seq,
        now=log.now,
        record=record,
        also=[added(log.row("applied", message))],  # logged with the outcome, one write
    )
    return log.answered("applied", 200, message)


def deliver_due_callbacks(
    container: PayingContext, *, include_delayed: bool = False, limit: int = 500
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
            outcome = _deliver(container, callback_id)
        except Exception:  # one bad callback must not hold up the others
            logger.exception("delivering sandbox wallet callback %s failed", callback_id)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _deliver(container: PayingContext, callback_id: int) -> CallbackOutcome | None:
    with container.uow() as uow:
        row = uow.session.get(SandboxWalletCallback, callback_id, with_for_update=True)
        if row is None or row.delivered_at is not None:
            return None
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
    return outcome
