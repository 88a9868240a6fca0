"""Paying, decided in pure code: who may pay, the bill's next state, the legs, what a callback says.

Nothing here touches the database (an import-linter contract says so): ``facts`` loads what these
functions read, ``write`` carries out what they decide, ``service`` is the transaction around both.
A refusal is returned as a :class:`ServiceError` for the service to raise, never raised here
(except by :func:`plan_legs`, whose two sides disagreeing is a bug, not a refusal).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from insurance.money import ZERO, MoneyError, format_amount, from_fen, parse_amount, to_fen
from insurance.split import Settlement
from settlement.billing import bill_states
from settlement.foundation.errors import ServiceError

#: The sources of a repayment, in the order their transfers are written.
SOURCES = ("hifp", "acct", "mulaid", "cash")
PAYABLE = bill_states.PAYABLE  # said once, in bill_states
#: The largest ``seq`` a callback may carry (the column is a 32-bit integer).
MAX_CALLBACK_SEQ = 2**31 - 1


class BillRef(Protocol):
    """What the legs need of a bill."""

    @property
    def bill_id(self) -> str: ...

    @property
    def psn_no(self) -> str: ...


@dataclass(frozen=True)
class PendingPayment:
    """A payment of the bill already under way (its wallet order open)."""

    order_id: str | None
    setl_id: str


# -- starting a payment ----------------------------------------------------------------------------


def provider_refusal(provider: str, providers: Sequence[str]) -> ServiceError | None:
    """``validation_error`` unless ``provider`` is one of the wallets ``providers``."""
    if provider in providers:
        return None
    return ServiceError("validation_error", f"wallet must be one of {', '.join(providers)}")


def start_refusal(
    *, bill_id: str, status: str | None, may_pay: bool, under_way: PendingPayment | None
) -> ServiceError | None:
    """Why the bill cannot be paid now, or ``None``.

    ``status`` is ``None`` when there is no such bill; a bill the payer may not pay is not found
    either (a stranger learns nothing about it).
    """
    if status is None or not may_pay:
        return ServiceError("not_found", f"no bill {bill_id}")
    if status in bill_states.PAID:
        return ServiceError("bill_settled", f"bill {bill_id} is already settled")
    if under_way is not None:
        return ServiceError(
            "bill_not_payable",
            f"a payment of bill {bill_id} is under way",
            payment_id=under_way.order_id,
            setl_id=under_way.setl_id,
        )
    if status not in PAYABLE:
        return ServiceError("bill_not_payable", f"a bill that is {status} cannot be paid")
    return None


def taken_amounts(split: Settlement) -> dict[str, Decimal]:
    """What paying by ``split`` takes from each source: the pooled fund, the patient's own
    account, the manager's account by mutual aid, the wallet."""
    info = split.setlinfo
    return {
        "hifp": info.hifp_pay,
        "acct": split.acct_own_pay,
        "mulaid": info.acct_mulaid_pay,
        "cash": info.psn_cash_pay,
    }


def covered(split: Settlement) -> bool:
    """The insurance accounts cover the bill entirely: paying it now takes nothing from the
    wallet, so it settles by itself when it is made (issue 16 item 4)."""
    return split.setlinfo.psn_cash_pay == ZERO


def split_version(amounts: Mapping[str, Decimal]) -> str:
    """The fingerprint of a split as it would be taken: source by source, the amounts (the bill
    and the payer are the payment's own). Equal versions take equal amounts from each source."""
    canonical = "|".join(f"{key}={format_amount(amounts.get(key, ZERO))}" for key in SOURCES)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def setlinfo_version(setlinfo: Mapping[str, str]) -> str:
    """:func:`split_version` of a setlinfo as answered (``acct_pay`` includes mutual aid)."""
    mulaid = Decimal(setlinfo["acct_mulaid_pay"])
    return split_version(
        {
            "hifp": Decimal(setlinfo["hifp_pay"]),
            "acct": Decimal(setlinfo["acct_pay"]) - mulaid,
            "mulaid": mulaid,
            "cash": Decimal(setlinfo["psn_cash_pay"]),
        }
    )


def split_changed_refusal(
    *, expected: str | None, version: str, setlinfo: Mapping[str, object]
) -> ServiceError | None:
    """``split_changed`` when the payer confirmed a split (``expected``) other than the one paying
    now would take; the refusal carries the new split and its version to confirm instead."""
    if expected is None or expected == version:
        return None
    return ServiceError(
        "split_changed",
        "the split changed since it was shown (a balance moved); confirm the new split",
        split_version=version,
        setlinfo=dict(setlinfo),
    )


def paying_state(status: str) -> str:
    """Where a payable bill goes while its payment is under way."""
    return bill_states.PAYING if status == bill_states.BILLED else bill_states.PAYING_LATE


def settled_state(status: str) -> str:
    """Where a bill whose payment is confirmed goes."""
    return bill_states.SETTLED if status == bill_states.PAYING else bill_states.SETTLED_LATE


def unpaid_state(status: str) -> str:
    """Where a bill whose payment failed goes back to."""
    return {
        bill_states.PAYING: bill_states.BILLED,
        bill_states.PAYING_LATE: bill_states.OVERDUE,
    }.get(status, status)


#: What a personal-account movement is for, in its key: a settlement's debit, the credit giving
#: back a failed settlement's, a refund's net movement (keyed by the settlement it replaces).
MOVEMENT_PURPOSES = ("pay", "release", "refund")


def movement_key(setl_id: str, purpose: str, psn_no: str) -> str:
    """The idempotency key of the insurance platform's movement of ``psn_no``'s personal
    account for the settlement ``setl_id`` (built here, beside the ledger's transfer ids, from
    the same settlement id): ``acct:{setl_id}:{purpose}:{psn_no}``. One settlement moves each
    account at most once per purpose, so the key names the movement, and a retry of the same
    settlement (or refund) asks the platform with the same key: it moves money at most once."""
    assert purpose in MOVEMENT_PURPOSES, purpose
    return f"acct:{setl_id}:{purpose}:{psn_no}"


def plan_legs(
    setl_id: str,
    bill: BillRef,
    amounts: Mapping[str, Decimal],
    shares: Sequence[tuple[str, Decimal]],
    *,
    at_close: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Pair the sources' amounts with the lines the bill drew on, in order (a waterfall).

    Each line gets back exactly the share it carried (the patient's own line, then any family
    manager's; see ``settlement.usecases.family.sharing.bill_line_shares``); the sources pay in the
    order pooled fund, personal account, wallet. Both sides sum to ``medfee_sumamt``, so the legs do
    too. A leg's id is ``pay:{setl_id}:{source}``, with ``:{psn_no}`` when it repays a line other
    than the patient's own. ``at_close``: a ``visit_end`` bill's fund settlement, whose legs
    (posted when the visit closed) stand for the fund's (:func:`after_fund_at_close`).

    Raises:
        ServiceError: ``conflict`` if the two sides do not sum to the same amount.
    """
    if at_close is not None:
        return after_fund_at_close(setl_id, bill, amounts, shares, at_close["legs"])
    return _waterfall(setl_id, bill, amounts, shares)


def _waterfall(
    setl_id: str,
    bill: BillRef,
    amounts: Mapping[str, Decimal],
    shares: Sequence[tuple[str, Decimal]],
) -> list[dict[str, Any]]:
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


def after_fund_at_close(
    setl_id: str,
    bill: BillRef,
    amounts: Mapping[str, Decimal],
    shares: Sequence[tuple[str, Decimal]],
    fund_legs: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """A ``visit_end`` bill's legs: the fund's, posted when the visit closed (or re-settled by a
    refund before repayment), then the other sources' waterfall over what each line carries
    beyond its fund legs (its share minus them), the patient's own line first.

    A refund before repayment settles the fund's new legs before the family's re-balance, which
    may then move charges from a manager's line to the patient's own: the fund's legs need not be
    the ones a waterfall over today's shares would write, but each line still gets back exactly
    its share (fund legs and the rest together), and no line's fund legs exceed its share (the
    re-balance keeps them so).

    Raises:
        ServiceError: ``conflict`` if the fund's legs are not the split's fund share, or exceed
        the share of a line they pay into.
    """
    if sum(leg["amount_fen"] for leg in fund_legs) != to_fen(amounts.get("hifp", ZERO)):
        raise ServiceError("conflict", "the fund's share settled at close differs from the split")
    on_line: dict[str, int] = {}
    for leg in fund_legs:
        on_line[leg["line"]] = on_line.get(leg["line"], 0) + leg["amount_fen"]
    rest = [(psn_no, amount - from_fen(on_line.pop(psn_no, 0))) for psn_no, amount in shares]
    if on_line or any(amount < 0 for _, amount in rest):
        raise ServiceError(
            "conflict", f"bill {bill.bill_id}: the fund's legs exceed the lines they repay"
        )
    others = {key: amount for key, amount in amounts.items() if key != "hifp"}
    return [*fund_legs, *_waterfall(setl_id, bill, others, rest)]


def pending_legs(legs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The legs a payment writes as pending transfers: all but those posted at close."""
    return [leg for leg in legs if not leg.get("at_close")]


# -- callbacks -------------------------------------------------------------------------------------


def is_seq(value: object) -> bool:
    """A callback's ``seq``: a whole number the log's 32-bit column holds."""
    return type(value) is int and 0 <= value <= MAX_CALLBACK_SEQ


@dataclass(frozen=True)
class Callback:
    """A provider's signed callback, read and checked."""

    order_id: str
    provider_txn_id: str
    succeeded: bool
    seq: int
    amount: Decimal


class MalformedCallback(ValueError):
    """The signed body is not a callback this service understands."""


def loose_fields(body: bytes) -> dict[str, Any]:
    """Whatever object a body holds, for the log; ``{}`` when it holds none."""
    try:
        loaded = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _identifiers(order_id: object, txn: object) -> tuple[str, str]:
    if not isinstance(order_id, str) or not isinstance(txn, str):
        raise MalformedCallback("order_id and provider_txn_id are strings")
    if "\x00" in order_id or "\x00" in txn:
        raise MalformedCallback("order_id and provider_txn_id hold no NUL character")
    return order_id, txn


def parse_callback(fields: Mapping[str, Any]) -> Callback:
    """The callback in ``fields`` (a signed body's object).

    Raises:
        MalformedCallback: a field is missing or not what the provider's contract says.
    """
    try:
        order_id, txn, status, seq = (
            fields["order_id"],
            fields["provider_txn_id"],
            fields["status"],
            fields["seq"],
        )
        order_id, txn = _identifiers(order_id, txn)
        if status not in ("SUCCESS", "FAIL"):
            raise MalformedCallback("status is SUCCESS or FAIL")
        if not is_seq(seq):
            raise MalformedCallback(f"seq is a whole number from 0 to {MAX_CALLBACK_SEQ}")
        amount = parse_amount(fields["amount"], name="amount")
    except KeyError as missing:
        raise MalformedCallback(str(missing)) from None
    except MoneyError as error:
        raise MalformedCallback(str(error)) from None
    return Callback(order_id, txn, status == "SUCCESS", seq, amount)


@dataclass(frozen=True)
class Verdict:
    """What to do with a callback for a known order: ``outcome`` and whether to apply it."""

    outcome: str  # apply | amount_mismatch | duplicate | contradicts
    message: str


def callback_verdict(*, order_status: str, order_amount_fen: int, callback: Callback) -> Verdict:
    """Apply a callback to a pending order; a repeat of the recorded outcome is a duplicate; an
    outcome contradicting the recorded one is for the provider's own record to settle."""
    if to_fen(callback.amount) != order_amount_fen:
        return Verdict(
            "amount_mismatch",
            f"the order is for {from_fen(order_amount_fen)}, the callback says {callback.amount}",
        )
    if order_status == "pending":
        return Verdict("apply", "")
    if callback.succeeded == (order_status == "succeeded"):
        return Verdict("duplicate", f"order {callback.order_id} is already {order_status}")
    return Verdict("contradicts", f"order {callback.order_id} is already {order_status}: kept")


# -- outcomes that contradict the recorded one -----------------------------------------------------


@dataclass(frozen=True)
class Contradiction:
    """A callback contradicting an order's recorded outcome, with what settles the question."""

    recorded: str  # the order's status: succeeded | failed
    provider_status: str  # the provider's query: succeeded | failed | pending | unknown
    provider_amount_fen: int | None
    order_amount_fen: int
    bill_owed: bool  # the bill can still be paid (billed or overdue, no payment under way)
    cash_now_fen: int | None  # what paying the bill now would take from the wallet


def resolve_contradiction(case: Contradiction) -> str:
    """What to do when a provider's callback contradicts the recorded outcome.

    The provider's own record (its query) decides, never the order the callbacks arrived in:

    - ``applied``: the provider took the money on an order recorded failed, and the bill is still
      owed exactly that much from the wallet: the money pays it.
    - ``refunded``: the provider took the money on an order recorded failed, and the bill is paid
      another way (or now owes a different amount): it goes back through the wallet.
    - ``kept``: the provider confirms what was recorded; the callback was stale.
    - ``unresolved``: the provider does not confirm money we counted as taken, still says
      pending, or reports another amount: an operator reconciles it.
    """
    provider_paid = case.provider_status == "succeeded"
    if provider_paid and case.provider_amount_fen != case.order_amount_fen:
        return "unresolved"
    if case.recorded == "succeeded":
        return "kept" if provider_paid else "unresolved"
    if case.provider_status == "failed":
        return "kept"
    if not provider_paid:
        return "unresolved"
    if case.bill_owed and case.cash_now_fen == case.order_amount_fen:
        return "applied"
    return "refunded"
