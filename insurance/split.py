"""The settlement split (national 2206 pre-settle and 2207 settle): who pays what of one bill.

From priced lines, the regional policy, the hospital level, the person type, this policy year's
accumulators and the account balances::

    medfee_sumamt     = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt
    act_pay_dedc      = min(inscp_scp_amt, deductible left this policy year)
    hifp_pay          = min((inscp_scp_amt − act_pay_dedc) × ratio half-up to the fen, cap left)
    fund_pay_sumamt   = hifp_pay
    psn_part_amt      = medfee_sumamt − fund_pay_sumamt = acct_pay + psn_cash_pay
    acct_pay          = own account (at most its balance) + relatives' mutual aid (acct_mulaid_pay)
    psn_cash_pay      = psn_part_amt − acct_pay           (the wallet)

The account pays only the parts of ``psn_part_amt`` the policy lets it pay (``acct_payable_parts``);
the patient's own account first, then each relative's account in the order given, where the
relation is one the policy allows for mutual aid, then the wallet. Every amount is exact to the
fen; the identities hold with no remainder because each figure is derived from the others by
subtraction, and ``hifp_pay`` is the one value rounded (once per bill).

This module imports nothing from ``settlement``, ``credit`` or ``api``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from insurance.errors import (
    AccumulatorYearMismatchError,
    DuplicateFeeLineError,
    InvalidAmountError,
    InvalidFeeLineError,
    NoPolicyInForceError,
)
from insurance.money import FEN, MAX_AMOUNT, ZERO, format_amount, quantize_fen
from insurance.policy import Policy
from insurance.pricing import PricedLine

#: The contract's ``setlinfo`` fields, in its order (``pool_prop_selfpay`` is a ratio, not money).
SETLINFO_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "balc",
)


def _check_money(value: object, name: str, maximum: Decimal | None = MAX_AMOUNT) -> Decimal:
    """A cheap check of an already-typed amount: a Decimal, exact to the fen, not negative."""
    if type(value) is not Decimal or not value.is_finite():
        raise InvalidAmountError(f"{name} must be a Decimal amount, not {value!r}", field=name)
    if value < 0:
        raise InvalidAmountError(f"{name} must not be negative: {value}", field=name)
    if maximum is not None and value > maximum:
        raise InvalidAmountError(f"{name} must be at most {maximum}: {value}", field=name)
    if value.as_tuple().exponent < -2 and value != value.quantize(FEN):  # type: ignore[operator]
        raise InvalidAmountError(f"{name} has more than 2 decimal places: {value}", field=name)
    return value


@dataclass(frozen=True, slots=True)
class Accumulators:
    """What one person has used in one policy year: deductible consumed and pooled fund paid."""

    policy_year: int
    deductible_used: Decimal = ZERO
    hifp_paid: Decimal = ZERO

    def __post_init__(self) -> None:
        if type(self.policy_year) is not int or not 1900 <= self.policy_year <= 9999:
            raise InvalidAmountError(
                f"policy_year must be a year, not {self.policy_year!r}", field="policy_year"
            )
        _check_money(self.deductible_used, "deductible_used")
        _check_money(self.hifp_paid, "hifp_paid")

    def as_dict(self) -> dict[str, object]:
        return {
            "policy_year": self.policy_year,
            "act_pay_dedc": format_amount(self.deductible_used),
            "hifp_pay": format_amount(self.hifp_paid),
        }


@dataclass(frozen=True, slots=True)
class RelativeAccount:
    """A relative's personal account offered for mutual aid.

    ``relation`` is what the patient is to the account holder, as the family manager declared it
    (``"parent"``: the holder pays a parent's bill). Only relations the policy allows pay.
    """

    psn_no: str
    relation: str
    balance: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.psn_no, str) or not self.psn_no:
            raise InvalidFeeLineError("a relative needs a psn_no", field="relatives.psn_no")
        _check_money(self.balance, "relatives.balc")


@dataclass(frozen=True, slots=True)
class MutualAidPayment:
    """What one relative's account paid, and its balance after."""

    psn_no: str
    relation: str
    amount: Decimal
    balc: Decimal


@dataclass(frozen=True, slots=True)
class SetlInfo:
    """The contract's ``setlinfo``: every amount a Decimal exact to the fen."""

    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    pool_prop_selfpay: Decimal  # the pooled ratio applied (a ratio, not money)
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    balc: Decimal

    def as_dict(self) -> dict[str, str]:
        """Money as two-place strings (``"12.30"``), the ratio as a string (``"0.70"``)."""
        return {
            name: str(self.pool_prop_selfpay)
            if name == "pool_prop_selfpay"
            else format_amount(getattr(self, name))
            for name in SETLINFO_FIELDS
        }


@dataclass(frozen=True, slots=True)
class Settlement:
    """One bill split: ``setlinfo``, the mutual aid, the accumulators, and the inputs used."""

    setlinfo: SetlInfo
    lines: tuple[PricedLine, ...]
    acct_own_pay: Decimal  # acct_pay − acct_mulaid_pay: the patient's own account
    mutual_aid: tuple[MutualAidPayment, ...]
    accumulators_before: Accumulators
    accumulators: Accumulators  # after this settlement
    policy: Policy
    hospital_level: int
    psn_type: str
    visit_date: date
    account_balance: Decimal  # the patient's own account before
    relatives: tuple[RelativeAccount, ...]

    @property
    def mulaid_by_psn(self) -> dict[str, Decimal]:
        """Each relative's mutual-aid payment (only those who paid something)."""
        return {aid.psn_no: aid.amount for aid in self.mutual_aid if aid.amount}

    def as_dict(self) -> dict[str, object]:
        """The contract's response form, with the priced lines and the new accumulators."""
        return {
            "setlinfo": self.setlinfo.as_dict(),
            "mutual_aid": [
                {
                    "psn_no": aid.psn_no,
                    "relation": aid.relation,
                    "acct_mulaid_pay": format_amount(aid.amount),
                    "balc": format_amount(aid.balc),
                }
                for aid in self.mutual_aid
            ],
            "accumulators": self.accumulators.as_dict(),
            "policy": {"region_code": self.policy.region_code, "version": self.policy.version},
            "hospital_level": self.hospital_level,
            "psn_type": self.psn_type,
            "visit_date": self.visit_date.isoformat(),
            "fees": [line.as_dict() for line in self.lines],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)


def settle(
    lines: Sequence[PricedLine] | Iterable[PricedLine],
    *,
    policy: Policy,
    hospital_level: int,
    psn_type: str,
    accumulators: Accumulators,
    account_balance: Decimal,
    relatives: Sequence[RelativeAccount] = (),
    visit_date: date,
) -> Settlement:
    """Split a bill of priced lines between the pooled fund, the accounts and the wallet.

    Args:
        lines: the bill's priced lines (``feedetl_sn`` unique); may be empty.
        policy: the regional policy in force on ``visit_date``.
        hospital_level: 1, 2 or 3.
        psn_type: ``"11"`` in service or ``"12"`` retired.
        accumulators: this person's use of the policy year of ``visit_date``, before this bill.
        account_balance: the patient's personal account balance before this bill.
        relatives: relatives' accounts offered for mutual aid, in the order they should pay.
        visit_date: the visit's date; its policy year owns the deductible and the cap.

    Invariants (exact, in fen): ``medfee_sumamt`` is the sum of its four parts and of the lines;
    ``psn_part_amt = medfee_sumamt − fund_pay_sumamt = acct_pay + psn_cash_pay``; the own account
    pays at most ``account_balance`` and each relative at most their balance; nothing is negative.

    Raises:
        UnknownHospitalLevelError, UnknownPersonTypeError, NoPolicyInForceError,
        AccumulatorYearMismatchError, DuplicateFeeLineError, InvalidAmountError.
    """
    ratio = policy.ratio(hospital_level, psn_type)
    cap = policy.cap(psn_type)
    if not policy.in_force(visit_date):
        raise NoPolicyInForceError(
            f"policy {policy.describe()} is not in force on {visit_date.isoformat()}",
            field="visit_date",
        )
    year = policy.policy_year(visit_date)
    if accumulators.policy_year != year:
        raise AccumulatorYearMismatchError(
            f"the accumulators are for policy year {accumulators.policy_year}, "
            f"but a visit on {visit_date.isoformat()} counts against {year}",
            field="accumulators.policy_year",
        )
    _check_money(account_balance, "balc")

    lines = tuple(lines)
    if len({line.feedetl_sn for line in lines}) != len(lines):
        _refuse_duplicates(lines)
    fulamt = sum((line.fulamt_ownpay_amt for line in lines), ZERO)
    overlmt = sum((line.overlmt_amt for line in lines), ZERO)
    preselfpay = sum((line.preselfpay_amt for line in lines), ZERO)
    inscp = sum((line.inscp_scp_amt for line in lines), ZERO)
    medfee = fulamt + overlmt + preselfpay + inscp

    deductible_left = policy.deductible - accumulators.deductible_used
    dedc = min(inscp, deductible_left) if deductible_left > 0 else ZERO
    cap_left = cap - accumulators.hifp_paid
    hifp = min(quantize_fen((inscp - dedc) * ratio), max(cap_left, ZERO))
    psn_part = medfee - hifp

    parts = policy.acct_payable_parts
    by_part = {
        "fulamt_ownpay": fulamt,
        "overlmt_selfpay": overlmt,
        "preselfpay": preselfpay,
        "inscp_selfpay": inscp - hifp,
    }
    # With every part payable (the demo region) the account may pay the whole personal share.
    payable = psn_part if len(parts) == 4 else sum((by_part[p] for p in parts), ZERO)
    own = min(payable, account_balance)
    aid = _mutual_aid(payable - own, relatives, policy.mutual_aid_relations)
    mulaid = sum((payment.amount for payment in aid), ZERO)
    acct_pay = own + mulaid

    info = SetlInfo(
        medfee_sumamt=medfee,
        fulamt_ownpay_amt=fulamt,
        overlmt_selfpay=overlmt,
        preselfpay_amt=preselfpay,
        inscp_scp_amt=inscp,
        act_pay_dedc=dedc,
        hifp_pay=hifp,
        pool_prop_selfpay=ratio,
        fund_pay_sumamt=hifp,
        psn_part_amt=psn_part,
        acct_pay=acct_pay,
        acct_mulaid_pay=mulaid,
        psn_cash_pay=psn_part - acct_pay,
        balc=account_balance - own,
    )
    after = Accumulators(year, accumulators.deductible_used + dedc, accumulators.hifp_paid + hifp)
    return Settlement(
        setlinfo=info,
        lines=lines,
        acct_own_pay=own,
        mutual_aid=aid,
        accumulators_before=accumulators,
        accumulators=after,
        policy=policy,
        hospital_level=hospital_level,
        psn_type=psn_type,
        visit_date=visit_date,
        account_balance=account_balance,
        relatives=tuple(relatives),
    )


def _mutual_aid(
    left: Decimal, relatives: Sequence[RelativeAccount], allowed: frozenset[str]
) -> tuple[MutualAidPayment, ...]:
    """Relatives' accounts pay what the own account could not, in the order offered."""
    seen_psn: set[str] = set()
    aid: list[MutualAidPayment] = []
    for relative in relatives:
        if relative.psn_no in seen_psn:
            raise DuplicateFeeLineError(
                f"relative {relative.psn_no} is offered twice", field="relatives.psn_no"
            )
        seen_psn.add(relative.psn_no)
        paid = min(left, relative.balance) if left > 0 and relative.relation in allowed else ZERO
        left -= paid
        aid.append(
            MutualAidPayment(relative.psn_no, relative.relation, paid, relative.balance - paid)
        )
    return tuple(aid)


def _refuse_duplicates(lines: Sequence[PricedLine]) -> None:
    seen: set[str] = set()
    for line in lines:
        if line.feedetl_sn in seen:
            raise DuplicateFeeLineError(
                f"feedetl_sn {line.feedetl_sn} appears twice in one bill", field="feedetl_sn"
            )
        seen.add(line.feedetl_sn)
