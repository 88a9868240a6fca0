"""Pricing of one fee line, like the national 2204 reply.

For each line::

    det_item_fee_sumamt = pric × cnt, half-up to the fen
    fulamt_ownpay_amt   = the whole line for class C (and unlisted codes), and for a restricted-use
                          item whose use the hospital did not approve (``hosp_appr_flag`` 2), else 0
    overlmt_amt         = (pric − pric_uplmt_amt) × cnt, half-up, where the catalogue caps the price
    preselfpay_amt      = (line − fulamt − overlmt) × selfpay_prop, half-up, for class B
    inscp_scp_amt       = line − fulamt − overlmt − preselfpay   (the remainder)

Each component is rounded once, and ``inscp_scp_amt`` is the remainder: it absorbs the rounding,
so ``det_item_fee_sumamt == fulamt + overlmt + preselfpay + inscp`` holds exactly, with no drift.
Half-up rounding is monotone and every ratio is at most 1, so no component is ever negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from insurance.catalogue import Catalogue
from insurance.errors import InvalidAmountError, InvalidFeeLineError
from insurance.money import MAX_AMOUNT, ZERO, format_amount, quantize_fen
from insurance.policy import Policy
from insurance.values import parse_value

PRIC_PLACES = 6
CNT_PLACES = 4
_NO_SELFPAY = Decimal(0)
_ALL_SELFPAY = Decimal(1)
#: National ``hosp_appr_flag``: 0 no approval needed, 1 approved, 2 not approved.
APPROVAL_FLAGS = ("0", "1", "2")
APPROVAL_REFUSED = "2"


def approval_refused(lmt_used_flag: bool, hosp_appr_flag: str | None) -> bool:
    """Whether a line is of a restricted-use item whose use the hospital did not approve: the
    fund pays nothing of it, the patient all."""
    return lmt_used_flag and hosp_appr_flag == APPROVAL_REFUSED


def line_amount(pric: Decimal, cnt: Decimal) -> Decimal:
    """The amount of a line: ``pric × cnt`` rounded half-up to the fen.

    This is the HIS check too: a posted ``det_item_fee_sumamt`` must equal it exactly.

    Args:
        pric: unit price, at most 6 places, not negative.
        cnt: quantity, at most 4 places, positive.
    """
    return quantize_fen(pric * cnt)


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One fee line as the HIS posts it; ``pric`` and ``cnt`` are validated on construction.

    ``pric`` and ``cnt`` accept ``str``, ``int`` or ``Decimal`` (never ``float``) and are stored as
    Decimals: ``pric`` 0 ≤ pric ≤ 9,999,999.99 with at most 6 places, ``cnt`` > 0 with at most 4.
    """

    feedetl_sn: str
    med_list_codg: str
    item_name: str
    pric: Decimal
    cnt: Decimal
    hosp_appr_flag: str | None = None

    def __post_init__(self) -> None:
        if self.hosp_appr_flag not in (None, *APPROVAL_FLAGS):
            raise InvalidFeeLineError(
                f"hosp_appr_flag must be 0, 1 or 2 (line {self.feedetl_sn})", field="hosp_appr_flag"
            )
        if not isinstance(self.feedetl_sn, str) or not 1 <= len(self.feedetl_sn) <= 30:
            raise InvalidFeeLineError("feedetl_sn must be 1-30 characters", field="feedetl_sn")
        if not isinstance(self.med_list_codg, str) or not 1 <= len(self.med_list_codg) <= 50:
            raise InvalidFeeLineError(
                f"med_list_codg must be 1-50 characters (line {self.feedetl_sn})",
                field="med_list_codg",
            )
        pric = parse_value(self.pric, name="pric", places=PRIC_PLACES)
        cnt = parse_value(self.cnt, name="cnt", places=CNT_PLACES, allow_zero=False)
        if line_amount(pric, cnt) > MAX_AMOUNT:
            raise InvalidAmountError(
                f"pric × cnt of line {self.feedetl_sn} is above {MAX_AMOUNT}",
                field="det_item_fee_sumamt",
            )
        # Frozen: store the validated Decimals through object.__setattr__.
        object.__setattr__(self, "pric", pric)
        object.__setattr__(self, "cnt", cnt)


class PricedLine(NamedTuple):
    """A fee line priced under a policy and catalogue; the line identity holds exactly.

    A named tuple rather than a frozen dataclass: a bill prices hundreds of lines, and building a
    frozen dataclass of 14 fields costs several times more (measured in ``tests/bench/split.py``).
    """

    feedetl_sn: str
    med_list_codg: str
    item_name: str
    pric: Decimal
    cnt: Decimal
    det_item_fee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    chrgitm_lv: str
    selfpay_prop: Decimal
    pric_uplmt_amt: Decimal | None
    unlisted: bool
    #: A restricted-use item (national ``lmt_used_flag``), and the hospital's approval of it.
    lmt_used_flag: bool = False
    hosp_appr_flag: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The contract form: money as two-place strings, ratios and quantities as strings."""
        return {
            "feedetl_sn": self.feedetl_sn,
            "med_list_codg": self.med_list_codg,
            "item_name": self.item_name,
            "pric": str(self.pric),
            "cnt": str(self.cnt),
            "det_item_fee_sumamt": format_amount(self.det_item_fee_sumamt),
            "fulamt_ownpay_amt": format_amount(self.fulamt_ownpay_amt),
            "overlmt_amt": format_amount(self.overlmt_amt),
            "preselfpay_amt": format_amount(self.preselfpay_amt),
            "inscp_scp_amt": format_amount(self.inscp_scp_amt),
            "chrgitm_lv": self.chrgitm_lv,
            "selfpay_prop": str(self.selfpay_prop),
            "pric_uplmt_amt": None if self.pric_uplmt_amt is None else str(self.pric_uplmt_amt),
            "unlisted": self.unlisted,
            "lmt_used_flag": self.lmt_used_flag,
            "hosp_appr_flag": self.hosp_appr_flag,
        }


def price_line(line: FeeLine, catalogue: Catalogue, policy: Policy) -> PricedLine:
    """Price one fee line: class and caps from ``catalogue``, default B share from ``policy``.

    An unlisted ``med_list_codg`` prices as class C and is flagged ``unlisted``; a restricted-use
    item the hospital did not approve (``hosp_appr_flag`` 2) keeps its class and is all self-paid.
    """
    amount = line_amount(line.pric, line.cnt)
    item = catalogue.get(line.med_list_codg)
    restricted = item is not None and item.lmt_used_flag
    if item is None or item.chrgitm_lv == "C" or approval_refused(restricted, line.hosp_appr_flag):
        return PricedLine(
            line.feedetl_sn,
            line.med_list_codg,
            line.item_name,
            line.pric,
            line.cnt,
            amount,
            amount,
            ZERO,
            ZERO,
            ZERO,
            "C" if item is None else item.chrgitm_lv,
            _ALL_SELFPAY,
            None if item is None else item.pric_uplmt_amt,
            item is None,
            restricted,
            line.hosp_appr_flag,
        )
    cap = item.pric_uplmt_amt
    overlmt = ZERO
    if cap is not None and line.pric > cap:
        # Rounded on its own; monotone rounding keeps it at most the line amount.
        overlmt = quantize_fen((line.pric - cap) * line.cnt)
    in_list = amount - overlmt
    if item.chrgitm_lv == "B":
        prop = policy.class_b_selfpay_prop if item.selfpay_prop is None else item.selfpay_prop
        preselfpay = quantize_fen(in_list * prop)
    else:
        prop = _NO_SELFPAY
        preselfpay = ZERO
    return PricedLine(
        line.feedetl_sn,
        line.med_list_codg,
        line.item_name,
        line.pric,
        line.cnt,
        amount,
        ZERO,
        overlmt,
        preselfpay,
        in_list - preselfpay,
        item.chrgitm_lv,
        prop,
        cap,
        False,
        restricted,
        line.hosp_appr_flag,
    )


def price_lines(
    lines: list[FeeLine] | tuple[FeeLine, ...], catalogue: Catalogue, policy: Policy
) -> list[PricedLine]:
    """Price every line of a batch, in order."""
    return [price_line(line, catalogue, policy) for line in lines]
