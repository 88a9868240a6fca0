"""When each source pays: the regional policy's settlement mode (``Policy.settlement_mode``).

Both modes split a bill the same way (:func:`insurance.split.settle`); they differ in *when* the
pooled fund's share moves, and so in what the patient's credit line carries after the visit:

- ``repayment`` (Dezhou's 舒心就医, the default): closing the visit puts the whole bill
  (``medfee_sumamt``) on the patient's credit; the repayment within the window settles all of
  it at once: pooled fund, personal account (first), wallet. The accumulators (deductible used,
  pooled fund paid this policy year) are consumed at repayment.
- ``visit_end`` (the national credit-medical-care model, 信用就医): closing the visit settles
  the pooled fund's share (``hifp_pay``; the national 2207, the personal part paid by payment
  channel 14 = 信用就医) and consumes the accumulators then; only the personal part
  (``psn_part_amt``) stays on credit, and the repayment takes it from the personal account
  first, then the wallet. The hospital carries no risk on the fund's share.

Identities, exact in fen, for one visit split against the same accumulators::

    fund + own account + mutual aid + wallet = medfee_sumamt          (both modes)
    fund settled at close (visit_end) = fund paid at repayment (repayment)
    on credit after close = medfee_sumamt (repayment) | psn_part_amt (visit_end)

A refund before repayment in ``visit_end`` (:func:`refund_fund_share`) gives the fund back its
share of the refunded lines (the remaining lines split again against the accumulators as if the
refunded ones had never been) and takes the rest off the patient's credit; in ``repayment``
nothing was settled yet, so the whole refund comes off the credit. After repayment both modes
refund alike (:func:`insurance.refund.resettle`: every source gets back what it paid).

This module imports nothing from ``settlement``, ``credit`` or ``api``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from insurance.errors import InvalidAmountError
from insurance.money import ZERO
from insurance.policy import SETTLEMENT_MODES
from insurance.refund import resettle
from insurance.split import Accumulators, Settlement

REPAYMENT, VISIT_END = SETTLEMENT_MODES
#: The hospital's payment channel for the personal part a credit line carries (信用就医).
CREDIT_PAY_CHANNEL = "14"


def check_mode(mode: str) -> str:
    """``mode`` if it is a settlement mode; else :class:`InvalidAmountError` naming it."""
    if mode not in SETTLEMENT_MODES:
        raise InvalidAmountError(
            f"settlement_mode must be one of {list(SETTLEMENT_MODES)}: {mode!r}",
            field="settlement_mode",
        )
    return mode


@dataclass(frozen=True, slots=True)
class AtClose:
    """What closing a visit settles and what stays on the patient's credit."""

    mode: str
    medfee_sumamt: Decimal
    #: The pooled fund's share settled now (fund → the lines the charges are on); 0 in
    #: ``repayment``.
    fund_pay: Decimal
    #: The deductible the fund's settlement consumes now; 0 in ``repayment``.
    act_pay_dedc: Decimal
    #: What the bill owes on the credit line after the close.
    on_credit: Decimal
    #: The accumulators to store now (``visit_end``), or ``None`` (consumed at repayment).
    accumulators: Accumulators | None

    @property
    def fund_settled(self) -> bool:
        return self.mode == VISIT_END


def at_close(split: Settlement, mode: str) -> AtClose:
    """What closing the visit whose lines ``split`` splits settles in ``mode``.

    Invariant: ``fund_pay + on_credit = medfee_sumamt``; in ``visit_end`` ``on_credit`` is
    ``psn_part_amt`` exactly, in ``repayment`` ``medfee_sumamt``.
    """
    info = split.setlinfo
    if check_mode(mode) == REPAYMENT:
        return AtClose(mode, info.medfee_sumamt, ZERO, ZERO, info.medfee_sumamt, None)
    return AtClose(
        mode,
        info.medfee_sumamt,
        info.hifp_pay,
        info.act_pay_dedc,
        info.psn_part_amt,
        split.accumulators,
    )


@dataclass(frozen=True, slots=True)
class AtRepayment:
    """What the repayment takes from each source, and whether it consumes the accumulators."""

    hifp: Decimal  # the pooled fund (0 in ``visit_end``: it settled at close)
    acct: Decimal  # the patient's own personal account
    mulaid: Decimal  # a family manager's account by mutual aid
    cash: Decimal  # the wallet
    #: In ``repayment`` the repayment consumes the deductible and the cap; in ``visit_end`` the
    #: close already did.
    stores_accumulators: bool

    @property
    def total(self) -> Decimal:
        return self.hifp + self.acct + self.mulaid + self.cash


def at_repayment(split: Settlement, mode: str) -> AtRepayment:
    """What repaying a bill split by ``split`` takes now, source by source, in ``mode``.

    In ``visit_end`` ``split`` must be the split of the close (the same lines and accumulators,
    the balances of now), so its fund share is the one already settled: the repayment takes
    ``psn_part_amt`` exactly, the personal account first.
    """
    info = split.setlinfo
    fund = info.hifp_pay if check_mode(mode) == REPAYMENT else ZERO
    return AtRepayment(
        hifp=fund,
        acct=split.acct_own_pay,
        mulaid=info.acct_mulaid_pay,
        cash=info.psn_cash_pay,
        stores_accumulators=mode == REPAYMENT,
    )


@dataclass(frozen=True, slots=True)
class FundRefund:
    """A refund before repayment in ``visit_end``: where the refunded amount goes back."""

    refunded_amount: Decimal
    #: Back to the pooled fund: its share of the bill before, less after.
    to_fund: Decimal
    #: Off the patient's credit: the refunded amount less what goes back to the fund.
    to_credit: Decimal
    #: The remaining lines split again (its ``hifp_pay`` the fund's share now settled; its
    #: ``psn_part_amt`` what stays on credit).
    settlement: Settlement
    #: The accumulators after: the refunded lines' consumption given back.
    accumulators: Accumulators


def refund_fund_share(
    fund_split: Settlement,
    *,
    refunded: Collection[str],
    accumulators: Accumulators,
    account_balance: Decimal,
) -> FundRefund:
    """Refund the lines ``refunded`` of a ``visit_end`` bill not yet repaid.

    Args:
        fund_split: the split whose fund share settled at close (or at the last refund), rebuilt
            from its stored inputs with no account balance or mutual aid (only the fund moved).
        refunded: ``feedetl_sn`` of the refunded lines, each a line of ``fund_split``.
        accumulators: the person's accumulators now, for the visit's policy year.
        account_balance: the patient's account balance now (for the new estimate only).

    Invariants: ``to_fund + to_credit = refunded_amount``; ``fund_split.hifp_pay − to_fund`` is
    the new split's ``hifp_pay``; the new ``psn_part_amt`` is what stays on credit.

    Raises:
        UnknownFeeLineError, AccumulatorYearMismatchError, InvalidAmountError (as ``resettle``).
    """
    if fund_split.acct_own_pay or fund_split.setlinfo.acct_mulaid_pay:
        raise InvalidAmountError(
            "the fund's split is rebuilt without accounts (only the fund settled at close)",
            field="fund_split",
        )
    result = resettle(
        fund_split,
        refunded=refunded,
        accumulators=accumulators,
        account_balance=account_balance,
        relatives=(),
    )
    amount = sum((line.det_item_fee_sumamt for line in result.refunded), ZERO)
    to_fund = fund_split.setlinfo.hifp_pay - result.settlement.setlinfo.hifp_pay
    return FundRefund(
        refunded_amount=amount,
        to_fund=to_fund,
        to_credit=amount - to_fund,
        settlement=result.settlement,
        accumulators=result.settlement.accumulators,
    )
