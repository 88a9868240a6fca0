"""What a refund (2208) may do and which transfers it writes: pure code, no database.

``settlement.usecases.refunding.refunds`` reads the bill and its lines, asks
:func:`request_refusal` whether the request stands; before settlement it reverses the refunded
lines' charges in one batch (:func:`reversals`), after settlement it builds the one linked
ledger batch with :func:`refund_batch` from the charges, the new settlement's legs and the old
settlement's legs it has read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from insurance.money import ZERO, from_fen
from insurance.split import SetlInfo, Settlement
from settlement.billing import bill_states
from settlement.foundation.errors import ServiceError
from settlement.ledger import chart
from settlement.ledger.model import AccountRef, TransferRequest

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
