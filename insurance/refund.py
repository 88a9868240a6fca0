"""Reversal and re-settlement after a refund (national 2208).

A refund after settlement reverses the whole settlement, every source getting back exactly what it
paid (pooled fund, the patient's own account, each relative's account, the wallet) and the
policy-year accumulators giving back exactly what it consumed; then the remaining lines are
settled again, as a new settlement, against the restored accumulators and balances. A visit keeps
its date, so a December visit refunded in January still counts against December's policy year.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from insurance.errors import AccumulatorYearMismatchError, InvalidAmountError, UnknownFeeLineError
from insurance.money import format_amount
from insurance.pricing import PricedLine
from insurance.split import Accumulators, RelativeAccount, Settlement, settle


@dataclass(frozen=True, slots=True)
class Reversal:
    """What goes back where, for one reversed settlement; every amount is what that source paid."""

    original: Settlement
    medfee_sumamt: Decimal
    hifp_pay: Decimal  # back to the pooled fund
    acct_own_pay: Decimal  # back to the patient's own account
    mutual_aid: Mapping[str, Decimal]  # psn_no -> back to that relative's account
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal  # back to the wallet
    accumulators: Accumulators  # after giving back what the settlement consumed
    balc: Decimal  # the patient's own account after the reversal
    relative_balances: Mapping[str, Decimal]  # each relative's balance after the reversal

    @property
    def acct_pay(self) -> Decimal:
        return self.acct_own_pay + self.acct_mulaid_pay

    def as_dict(self) -> dict[str, object]:
        """The contract's form: where the money went back, money as two-place strings."""
        return {
            "medfee_sumamt": format_amount(self.medfee_sumamt),
            "hifp_pay": format_amount(self.hifp_pay),
            "fund_pay_sumamt": format_amount(self.hifp_pay),
            "acct_pay": format_amount(self.acct_pay),
            "acct_mulaid_pay": format_amount(self.acct_mulaid_pay),
            "mutual_aid": {psn: format_amount(v) for psn, v in self.mutual_aid.items()},
            "psn_cash_pay": format_amount(self.psn_cash_pay),
            "balc": format_amount(self.balc),
            "accumulators": self.accumulators.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Resettlement:
    """A 2208 refund after settlement: the reversal, then the new settlement of what remains."""

    reversal: Reversal
    settlement: Settlement
    refunded: tuple[PricedLine, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "refunded": [line.feedetl_sn for line in self.refunded],
            "reversal": self.reversal.as_dict(),
            "settlement": self.settlement.as_dict(),
        }


def reverse(
    settlement: Settlement,
    *,
    accumulators: Accumulators | None = None,
    account_balance: Decimal | None = None,
    relative_balances: Mapping[str, Decimal] | None = None,
) -> Reversal:
    """Reverse ``settlement``: every source gets back exactly what it paid.

    Args:
        settlement: the settlement to reverse.
        accumulators: the person's accumulators now (default: those right after ``settlement``;
            pass the current ones when other bills were settled since).
        account_balance: the patient's account balance now (default: right after ``settlement``).
        relative_balances: relatives' balances now, by ``psn_no`` (default: right after).

    Raises:
        AccumulatorYearMismatchError: ``accumulators`` are of another policy year.
        InvalidAmountError: ``accumulators`` hold less than the settlement consumed.
    """
    info = settlement.setlinfo
    current = settlement.accumulators if accumulators is None else accumulators
    if current.policy_year != settlement.accumulators.policy_year:
        raise AccumulatorYearMismatchError(
            f"the settlement counted against policy year {settlement.accumulators.policy_year}, "
            f"not {current.policy_year}",
            field="accumulators.policy_year",
        )
    deductible_used = current.deductible_used - info.act_pay_dedc
    hifp_paid = current.hifp_paid - info.hifp_pay
    if deductible_used < 0 or hifp_paid < 0:
        raise InvalidAmountError(
            "the accumulators hold less than this settlement consumed: were they restored twice?",
            field="accumulators",
        )
    balance = info.balc if account_balance is None else account_balance
    relatives_now = {aid.psn_no: aid.balc for aid in settlement.mutual_aid}
    if relative_balances is not None:
        relatives_now.update(relative_balances)
    return Reversal(
        original=settlement,
        medfee_sumamt=info.medfee_sumamt,
        hifp_pay=info.hifp_pay,
        acct_own_pay=settlement.acct_own_pay,
        mutual_aid={aid.psn_no: aid.amount for aid in settlement.mutual_aid},
        acct_mulaid_pay=info.acct_mulaid_pay,
        psn_cash_pay=info.psn_cash_pay,
        accumulators=Accumulators(current.policy_year, deductible_used, hifp_paid),
        balc=balance + settlement.acct_own_pay,
        relative_balances={
            aid.psn_no: relatives_now[aid.psn_no] + aid.amount for aid in settlement.mutual_aid
        },
    )


def resettle(
    original: Settlement,
    *,
    refunded: Collection[str],
    accumulators: Accumulators | None = None,
    account_balance: Decimal | None = None,
    relatives: Sequence[RelativeAccount] | None = None,
) -> Resettlement:
    """Refund the lines ``refunded`` (by ``feedetl_sn``): reverse, then settle what remains.

    The accumulators are restored first, so the remaining lines consume the deductible and the
    cap as if the refunded lines had never been there. The new settlement keeps the original's
    policy, hospital level, person type and visit date.

    Args:
        original: the settlement being refunded.
        refunded: ``feedetl_sn`` of the refunded lines; each must be in ``original``.
        accumulators: the person's accumulators now (default: right after ``original``).
        account_balance: the patient's account balance now (default: right after ``original``).
        relatives: relatives' accounts now (default: the original's, with their mutual aid back).

    Raises:
        UnknownFeeLineError: a ``feedetl_sn`` that ``original`` does not contain.
    """
    wanted = set(refunded)
    known = {line.feedetl_sn for line in original.lines}
    unknown = sorted(wanted - known)
    if unknown:
        raise UnknownFeeLineError(
            f"feedetl_sn {', '.join(unknown)} is not a line of this settlement", field="feedetl_sn"
        )
    reversal = reverse(
        original,
        accumulators=accumulators,
        account_balance=account_balance,
        relative_balances=None if relatives is None else {r.psn_no: r.balance for r in relatives},
    )
    # Each relative's balance now plus what the reversal gives back to them.
    offered = original.relatives if relatives is None else relatives
    restored = tuple(
        RelativeAccount(r.psn_no, r.relation, reversal.relative_balances.get(r.psn_no, r.balance))
        for r in offered
    )
    remaining = [line for line in original.lines if line.feedetl_sn not in wanted]
    again = settle(
        remaining,
        policy=original.policy,
        hospital_level=original.hospital_level,
        psn_type=original.psn_type,
        accumulators=reversal.accumulators,
        account_balance=reversal.balc,
        relatives=restored,
        visit_date=original.visit_date,
    )
    refunded_lines = tuple(line for line in original.lines if line.feedetl_sn in wanted)
    return Resettlement(reversal=reversal, settlement=again, refunded=refunded_lines)
