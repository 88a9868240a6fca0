"""What a refund (2208) may do and what it writes: pure code, no database.

``settlement.usecases.refunding.refunds`` reads the bill and its lines
(``settlement.usecases.refunding.facts``) and asks :func:`request_refusal` whether the request
stands. Before settlement :func:`decide_before` plans the refund: the refunded lines' charges
reversed in one batch (:func:`reversals`), their total, the bill's next state. After settlement
:func:`decide_after` re-settles the remaining lines (``insurance.refund.resettle``) and plans the
one linked ledger batch (:func:`refund_batch`), the personal accounts' movements, the wallet's
refund and the settlement that replaces the old one, or refuses. ``refunding.write`` writes the
plans.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from insurance.money import ZERO, from_fen, to_fen
from insurance.refund import Resettlement, resettle
from insurance.split import Accumulators, RelativeAccount, SetlInfo, Settlement
from settlement.billing import bill_states
from settlement.foundation.errors import ServiceError
from settlement.ledger import chart
from settlement.ledger.model import AccountRef, TransferRequest
from settlement.usecases.movements.decide import Intent
from settlement.usecases.paying.decide import movement_key, plan_legs

#: The sources a settlement pays from, by the names its legs use.
SOURCES = ("hifp", "acct", "mulaid", "cash")


@dataclass(frozen=True)
class Returned:
    """Where the refunded money went, exact to the fen."""

    hifp_pay: Decimal = ZERO
    acct_pay: Decimal = ZERO
    acct_mulaid_pay: Decimal = ZERO
    psn_cash_pay: Decimal = ZERO
    credit_line: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class PostedCharge:
    """A refunded line's posted charge (``post:{hold_id}``) as the ledger holds it."""

    hold_id: str
    transfer_id: str
    debit_account: AccountRef
    credit_account: AccountRef
    amount: Decimal


def request_refusal(
    bill_id: str, feedetl_sns: Sequence[str], statuses: Mapping[str, str], *, bill_status: str
) -> ServiceError | None:
    """Why the lines ``feedetl_sns`` of the bill cannot be refunded now, if so, in this order: one
    named twice, the bill being paid, one that is not a billed line of the bill (``statuses``:
    the visit's lines by ``feedetl_sn``), one refunded already."""
    if len(set(feedetl_sns)) != len(feedetl_sns):
        return ServiceError("validation_error", "a feedetl_sn appears twice in the request")
    if bill_status in (bill_states.PAYING, bill_states.PAYING_LATE):
        return ServiceError("conflict", f"bill {bill_id} is being paid: refund after it settles")
    unknown = [sn for sn in feedetl_sns if statuses.get(sn, "cancelled") == "cancelled"]
    if unknown:
        return _unknown_lines(bill_id, feedetl_sns, unknown)
    done = [sn for sn in feedetl_sns if statuses[sn] == "refunded"]
    if done:
        return ServiceError(
            "already_refunded", f"feedetl_sn {', '.join(done)} is already refunded", feedetl_sn=done
        )
    return None


def _unknown_lines(bill_id: str, feedetl_sns: Sequence[str], unknown: list[str]) -> ServiceError:
    return ServiceError(
        "unknown_fee_line",
        f"feedetl_sn {', '.join(unknown)} is not a billed line of bill {bill_id}",
        feedetl_sn=unknown,
        fields=[
            {
                "path": f"feedetl_sn.{feedetl_sns.index(sn)}",
                "message": "not a billed line",
                "type": "unknown_fee_line",
            }
            for sn in unknown
        ],
    )


def paid_by_source(settlement: Settlement) -> dict[str, Decimal]:
    """What each source pays in ``settlement`` (the personal account's own part apart from
    mutual aid)."""
    return {
        "hifp": settlement.setlinfo.hifp_pay,
        "acct": settlement.acct_own_pay,
        "mulaid": settlement.setlinfo.acct_mulaid_pay,
        "cash": settlement.setlinfo.psn_cash_pay,
    }


def wallet_refusal(
    old_pay: Mapping[str, Decimal], new_pay: Mapping[str, Decimal]
) -> ServiceError | None:
    """A re-settlement never takes more from the wallet than the payment did."""
    if new_pay["cash"] > old_pay["cash"]:
        return ServiceError("conflict", "the re-settlement would take more from the wallet")
    return None


def returned(before: SetlInfo, after: SetlInfo) -> Returned:
    """Where a refund after settlement went back, per payer: the settlement's figures before
    less after (the credit line gets nothing back: the bill was repaid)."""
    return Returned(
        hifp_pay=before.hifp_pay - after.hifp_pay,
        acct_pay=before.acct_pay - after.acct_pay,
        acct_mulaid_pay=before.acct_mulaid_pay - after.acct_mulaid_pay,
        psn_cash_pay=before.psn_cash_pay - after.psn_cash_pay,
        credit_line=ZERO,
    )


def reversals(bill_id: str, charges: Sequence[PostedCharge]) -> list[TransferRequest]:
    """The reversing entries of the refunded lines' posted charges, one per charge, in order:
    each moves its charge's amount back (``refund:{hold_id}``, ``reverses_id`` the charge), so
    the ledger stays append-only and each reversal nets its charge to zero."""
    return [
        TransferRequest(
            id=f"refund:{charge.hold_id}",
            debit_account=charge.credit_account,
            credit_account=charge.debit_account,
            amount=charge.amount,
            code="refund",
            reference=bill_id,
            reverses_id=charge.transfer_id,
        )
        for charge in charges
    ]


def refund_batch(
    bill_id: str,
    *,
    charges: Sequence[PostedCharge],
    new_legs: Sequence[Mapping[str, Any]],
    old_legs: Sequence[Mapping[str, Any]],
    accounts: Mapping[str, str],
) -> list[TransferRequest]:
    """The one linked batch of a refund after settlement, in an order that keeps every limit:
    the refunded lines' charges reversed, the new settlement's legs, the old settlement's legs
    reversed (the patient's line gains before it gives; its net change is zero)."""
    batch = reversals(bill_id, charges)
    batch += [
        TransferRequest(
            id=leg["id"],
            debit_account=accounts[leg["source"]],
            credit_account=chart.patient_line(leg["line"]),
            amount=from_fen(leg["amount_fen"]),
            code=f"repay_{leg['source']}",
            reference=bill_id,
        )
        for leg in new_legs
    ]
    batch += [
        TransferRequest(
            id=f"rev:{leg['id']}",
            debit_account=chart.patient_line(leg["line"]),
            credit_account=accounts[leg["source"]],
            amount=from_fen(leg["amount_fen"]),
            code="repay_reversal",
            reference=bill_id,
            reverses_id=leg["id"],
        )
        for leg in old_legs
    ]
    return batch


# -- the refund planned ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundedLine:
    """A line the refund takes off the bill: its number and its amount."""

    feedetl_sn: str
    amount_fen: int


@dataclass(frozen=True)
class BeforePlan:
    """A refund before settlement, decided: the charges' reversals, the lines and their total
    taken off the bill, the refunded lines whose shared-hold records go, the bill's next state
    and its history's detail. ``debt_gone``: an overdue bill refunded whole (nothing is owed any
    more: the credit rules hear of it); ``frees_managers``: an overdue bill that froze its
    managers' lines no longer uses them (they are told)."""

    reversals: list[TransferRequest]
    refunded: tuple[str, ...]
    amount_fen: int
    forget: tuple[str, ...]
    target: str
    detail: dict[str, Any]
    debt_gone: bool
    frees_managers: bool

    @property
    def returned(self) -> Returned:
        """Where the refund went back when no fund settled at close: all to the credit line."""
        return Returned(credit_line=from_fen(self.amount_fen))


def decide_before(
    bill_id: str,
    *,
    bill_status: str,
    chosen: Sequence[RefundedLine],
    left: int,
    shared: Collection[str],
    charges: Sequence[PostedCharge],
    reason: str,
    managers_frozen: bool,
) -> BeforePlan:
    """Refund ``chosen`` of an unpaid bill: ``left`` billed lines stay on it after the refund;
    ``shared``: the lines with parts on managers' lines; ``charges``: the chosen lines' posted
    charges (:func:`reversals`); ``managers_frozen``: the bill has shared parts and the scheme
    freezes managers' lines while it is overdue."""
    refunded = tuple(line.feedetl_sn for line in chosen)
    target = bill_status if left else bill_states.REFUNDED
    overdue = bill_status == bill_states.OVERDUE
    return BeforePlan(
        reversals=reversals(bill_id, charges),
        refunded=refunded,
        amount_fen=sum(line.amount_fen for line in chosen),
        forget=tuple(sn for sn in refunded if sn in shared),
        target=target,
        detail={"feedetl_sn": list(refunded), "reason": reason},
        debt_gone=overdue and target == bill_states.REFUNDED,
        frees_managers=overdue and managers_frozen,
    )


class RefundedBill(Protocol):
    """What a refund after settlement needs of the bill."""

    @property
    def bill_id(self) -> str: ...

    @property
    def psn_no(self) -> str: ...

    @property
    def status(self) -> str: ...


class PostedSettlement(Protocol):
    """What a refund after settlement needs of the settlement it reverses."""

    @property
    def setl_id(self) -> str: ...

    @property
    def payer_psn_no(self) -> str: ...

    @property
    def lines(self) -> list[str]: ...

    @property
    def transfers(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class SettledFacts:
    """What the re-settlement reads beside the bill and its settlement: the settlement rebuilt
    (``original``), the patient's accumulators and balance now, the mutual aid offered now, the
    refunded lines' posted charges, what the remaining lines carry on which patient's line
    (``shares``), and the sources' ledger accounts (mutual aid's included)."""

    original: Settlement
    accumulators: Accumulators
    account_balance: Decimal
    relatives: Sequence[RelativeAccount]
    charges: Sequence[PostedCharge]
    shares: Sequence[tuple[str, Decimal]]
    accounts: Mapping[str, str]


@dataclass(frozen=True)
class AfterPlan:
    """A refund after settlement, decided: the re-settlement and what each source pays in the
    old and the new one; the new settlement's id (``None`` when nothing remains), lines and legs;
    the one linked ledger batch and the accounts it uses; the personal accounts' movements; what
    goes back to the wallet; the bill's next state."""

    resettled: Resettlement
    old_pay: dict[str, Decimal]
    new_pay: dict[str, Decimal]
    setl_id: str | None
    remaining: tuple[str, ...]
    legs: list[dict[str, Any]]
    accounts: dict[str, str]
    batch: list[TransferRequest]
    intents: list[Intent]
    wallet_refund: Decimal
    refunded: tuple[str, ...]
    amount_fen: int
    target: str
    detail: dict[str, Any]
    returned: Returned

    @property
    def new(self) -> Settlement:
        return self.resettled.settlement


def decide_after(
    bill: RefundedBill,
    record: PostedSettlement,
    facts: SettledFacts,
    *,
    chosen: Sequence[RefundedLine],
    new_setl_id: str,
    reason: str,
) -> AfterPlan | ServiceError:
    """Refund ``chosen`` of a settled bill: reverse ``record`` and settle the remaining lines
    again (as ``new_setl_id``) from the same sources, or refuse (the wallet would pay more)."""
    refunded = tuple(line.feedetl_sn for line in chosen)
    resettled = resettle(
        facts.original,
        refunded=refunded,
        accumulators=facts.accumulators,
        account_balance=facts.account_balance,
        relatives=facts.relatives,
    )
    old_pay, new_pay = paid_by_source(facts.original), paid_by_source(resettled.settlement)
    refusal = wallet_refusal(old_pay, new_pay)
    if refusal is not None:
        return refusal
    remaining = tuple(sn for sn in record.lines if sn not in refunded)
    setl_id = new_setl_id if remaining else None
    legs = plan_legs(setl_id, bill, new_pay, facts.shares) if setl_id is not None else []
    # Mutual aid came from (and goes back to) the manager's own personal account.
    mulaid = old_pay["mulaid"] > 0 or new_pay["mulaid"] > 0
    accounts = {key: code for key, code in facts.accounts.items() if key != "mulaid" or mulaid}
    target = bill.status if remaining else bill_states.REFUNDED
    return AfterPlan(
        resettled=resettled,
        old_pay=old_pay,
        new_pay=new_pay,
        setl_id=setl_id,
        remaining=remaining,
        legs=legs,
        accounts=accounts,
        batch=refund_batch(
            bill.bill_id,
            charges=facts.charges,
            new_legs=legs,
            old_legs=record.transfers,
            accounts=accounts,
        ),
        intents=_account_movements(bill, record, old_pay, new_pay),
        wallet_refund=old_pay["cash"] - new_pay["cash"],
        refunded=refunded,
        amount_fen=sum(line.amount_fen for line in chosen),
        target=target,
        detail={
            "feedetl_sn": list(refunded),
            "reason": reason,
            "reversed_setl_id": record.setl_id,
            "setl_id": setl_id,
        },
        returned=returned(facts.original.setlinfo, resettled.settlement.setlinfo),
    )


def _account_movements(
    bill: RefundedBill,
    record: PostedSettlement,
    old_pay: Mapping[str, Decimal],
    new_pay: Mapping[str, Decimal],
) -> list[Intent]:
    """The personal accounts' movements: back what the old split took, less the new; the
    manager's account gets exactly what mutual aid no longer pays. Keyed by the settlement the
    refund replaces (replaced once): a retried refund asks the platform with the same keys, so
    it moves each account at most once."""
    nets = [
        (bill.psn_no, old_pay["acct"] - new_pay["acct"]),
        (record.payer_psn_no, old_pay["mulaid"] - new_pay["mulaid"]),
    ]
    replaced = record.setl_id
    return [
        Intent(
            key=movement_key(replaced, "refund", psn_no),
            bill_id=bill.bill_id,
            purpose="refund",
            reference=replaced,
            psn_no=psn_no,
            direction="credit" if net > 0 else "debit",
            amount_fen=abs(to_fen(net)),
        )
        for psn_no, net in nets
        if net != 0
    ]
