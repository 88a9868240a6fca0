"""Whether a charge batch (2204) may be held, and what to write if so: pure code, no database.

:func:`decide_fee_batch` is the one set of rules every batch goes through, posted alone
(``settlement.usecases.charging.service.post_fees``) or in a group
(``settlement.usecases.charging.groups``): it takes the facts read about the batch
(``settlement.usecases.charging.facts``) and returns a :class:`FeePlan` or the refusal, in the
order the HIS sees them: a stated time no policy covers, the visit (not found, closed), the batch
(empty, oversized, a repeated ``feedetl_sn``, a wrong amount), the patient (unknown, not eligible,
their standing, a relative's overdue bill), then the pricing. Where the holds go (the patient's
own line first, then their family managers') is the writer's: only the ledger, under its locks,
knows what is left on a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from credit.decision import Decision, ineligibility
from insurance.catalogue import Catalogue
from insurance.errors import InsuranceError
from insurance.money import from_fen, to_fen
from insurance.policy import PolicyBook
from insurance.pricing import FeeLine as FeeLineInput
from insurance.pricing import PricedLine, line_amount, price_lines
from settlement.foundation.errors import ServiceError
from settlement.foundation.ports import PersonRecord
from settlement.usecases.charging.times import check_times

MAX_BATCH_LINES = 500
#: The contract's refusal codes for a credit standing that is not ``active``.
STANDING_REFUSALS = {
    "not_signed": ("not_signed", "the patient has not signed the current service agreement"),
    "not_eligible": ("not_eligible", "the patient is not eligible for credit medical care"),
    "frozen": ("credit_frozen", "the patient's credit line is frozen by an overdue bill"),
    "suspended": ("suspended", "the patient's credit is suspended"),
}


@dataclass(frozen=True)
class VisitRequest:
    ipt_otp_no: str
    psn_no: str
    med_type: str
    dept_code: str
    dept_name: str
    dr_name: str
    begntime: datetime


@dataclass(frozen=True)
class FeeRequest:
    feedetl_sn: str
    med_list_codg: str
    item_name: str
    pric: Decimal
    cnt: Decimal
    det_item_fee_sumamt: Decimal
    fee_ocur_time: datetime
    #: National 0 (no approval needed), 1 (approved), 2 (not approved); restricted items only.
    hosp_appr_flag: str | None = None


@dataclass(frozen=True, slots=True)
class ChargedVisit:
    """A visit as a charge uses it: read as columns under its row lock, not as a mapped object
    (whose loading would cost more than the rest of the statement)."""

    mdtrt_id: str
    psn_no: str
    status: str
    begntime: datetime


@dataclass(frozen=True, slots=True)
class ChargeFacts:
    """What a charge reads about its visit before pricing it, in one statement."""

    visit: ChargedVisit
    hospital_code: str
    total_fen: int  # the visit's active lines
    any_repeated: bool  # one of the ``feedetl_sn`` values asked about is already in the visit
    has_sharing_links: bool  # the patient has managers who may share their lines
    frozen_by_family: bool  # a relative's overdue bill that drew on the patient's line


@dataclass(frozen=True, slots=True)
class BatchFacts:
    """Everything :func:`decide_fee_batch` looks at about one batch, read before it decides.

    ``visit`` is ``None`` for a visit that does not exist; then nothing else was read.
    """

    visit: ChargeFacts | None
    person: PersonRecord | None = None
    standing: Decision | None = None
    catalogue: Catalogue = field(default_factory=lambda: Catalogue(()))
    existing: frozenset[str] = frozenset()  # the batch's ``feedetl_sn`` values already in it
    overdue_shared_bills: tuple[str, ...] = ()  # a relative's, drawn on this line: their ids


@dataclass(frozen=True, slots=True)
class ChargeRules:
    """What a batch is checked and priced against: the clock's now, the scheme, the policies."""

    now: datetime
    max_ahead: timedelta
    policies: PolicyBook
    timezone: str
    freeze_shared_on_overdue: bool


@dataclass(frozen=True)
class FeeBatch:
    """One charge batch (2204) as the HIS sent it."""

    hospital_code: str
    mdtrt_id: str
    chrg_bchno: str
    fees: Sequence[FeeRequest]


@dataclass(frozen=True, slots=True)
class PostedFeeLine:
    """A line as a charge batch just stored it: the answer is built from these values, since a
    mapped ``FeeLine`` per line costs the ORM's instrumentation for nothing the caller reads."""

    feedetl_sn: str
    chrg_bchno: str
    med_list_codg: str
    item_name: str
    pric: Decimal
    cnt: Decimal
    det_item_fee_sumamt_fen: int
    chrgitm_lv: str
    selfpay_prop: Decimal
    fulamt_ownpay_amt_fen: int
    overlmt_amt_fen: int
    preselfpay_amt_fen: int
    inscp_scp_amt_fen: int
    pric_uplmt_amt: Decimal | None
    unlisted: bool
    lmt_used_flag: bool
    hosp_appr_flag: str | None
    fee_ocur_time: datetime
    status: str

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> PostedFeeLine:
        return cls(**{name: values[name] for name in cls.__slots__})


@dataclass(frozen=True)
class FeeBatchResult:
    visit: ChargedVisit
    chrg_bchno: str
    lines: list[PostedFeeLine]
    medfee_sumamt: Decimal
    available: Decimal


@dataclass(frozen=True)
class FeePlan:
    """A batch that may be held: its lines priced, and the fee-line rows to insert."""

    facts: ChargeFacts
    chrg_bchno: str
    priced: list[PricedLine]
    rows: list[dict[str, Any]]

    def answer(self, *, available: Decimal) -> FeeBatchResult:
        """The batch's answer once held, built from the rows (nothing is read back)."""
        return FeeBatchResult(
            visit=self.facts.visit,
            chrg_bchno=self.chrg_bchno,
            lines=[PostedFeeLine.from_values(row) for row in self.rows],
            medfee_sumamt=from_fen(
                self.facts.total_fen + sum(row["det_item_fee_sumamt_fen"] for row in self.rows)
            ),
            available=available,
        )


def decide_fee_batch(
    batch: FeeBatch, facts: BatchFacts, rules: ChargeRules
) -> FeePlan | ServiceError:
    """The plan for ``batch``, or the first refusal (see the module's docstring for the order)."""
    refusal = time_refusal(batch.fees, rules) or _visit_refusal(batch, facts.visit)
    if refusal is not None:
        return refusal
    assert facts.visit is not None  # _visit_refusal refuses a missing visit
    refusal = batch_refusal(batch.mdtrt_id, batch.fees, facts.existing) or patient_refusal(
        facts.visit.visit.psn_no,
        facts.person,
        facts.standing,
        facts.overdue_shared_bills if rules.freeze_shared_on_overdue else (),
    )
    if refusal is not None:
        return refusal
    priced = price(batch.fees, facts.catalogue, rules, begntime=facts.visit.visit.begntime)
    if isinstance(priced, ServiceError):
        return priced
    rows = [
        fee_values(facts.visit.visit, batch.chrg_bchno, fee, line, rules.now)
        for fee, line in zip(batch.fees, priced, strict=True)
    ]
    return FeePlan(facts=facts.visit, chrg_bchno=batch.chrg_bchno, priced=priced, rows=rows)


def time_refusal(fees: Sequence[FeeRequest], rules: ChargeRules) -> ServiceError | None:
    """A ``fee_ocur_time`` no policy covers or too far ahead of the clock (422), if any."""
    return stated_time_refusal(fee_times(fees), rules)


def stated_time_refusal(
    times: Sequence[tuple[str, datetime]], rules: ChargeRules
) -> ServiceError | None:
    try:
        check_times(
            times,
            now=rules.now,
            max_ahead=rules.max_ahead,
            policies=rules.policies,
            timezone=rules.timezone,
        )
    except ServiceError as refusal:
        return refusal
    return None


def fee_times(fees: Sequence[FeeRequest]) -> list[tuple[str, datetime]]:
    """Each line's ``fee_ocur_time`` with its field path, for :func:`stated_time_refusal`."""
    return [(f"fees.{index}.fee_ocur_time", fee.fee_ocur_time) for index, fee in enumerate(fees)]


def _visit_refusal(batch: FeeBatch, facts: ChargeFacts | None) -> ServiceError | None:
    if facts is None or facts.hospital_code != batch.hospital_code:
        return ServiceError("not_found", f"no visit {batch.mdtrt_id} at this hospital")
    if facts.visit.status != "open":
        return ServiceError("visit_closed", f"visit {batch.mdtrt_id} is closed")
    return None


def batch_refusal(
    mdtrt_id: str, fees: Sequence[FeeRequest], existing: frozenset[str] | set[str]
) -> ServiceError | None:
    """An empty or oversized batch, a repeated ``feedetl_sn`` or a wrong line amount, if any.

    ``existing``: the batch's ``feedetl_sn`` values already in the visit.
    """
    if not fees:
        return ServiceError("validation_error", "a charge batch needs at least one fee line")
    if len(fees) > MAX_BATCH_LINES:
        return ServiceError(
            "validation_error", f"a charge batch has at most {MAX_BATCH_LINES} lines"
        )
    seen = set(existing)
    for index, fee in enumerate(fees):
        if fee.feedetl_sn in seen:
            return ServiceError(
                "duplicate_fee",
                f"feedetl_sn {fee.feedetl_sn} is already in visit {mdtrt_id}",
                feedetl_sn=fee.feedetl_sn,
                index=index,
            )
        seen.add(fee.feedetl_sn)
        refusal = _amount_refusal(index, fee)
        if refusal is not None:
            return refusal
    return None


def _amount_refusal(index: int, fee: FeeRequest) -> ServiceError | None:
    expected = line_amount(fee.pric, fee.cnt)
    if fee.det_item_fee_sumamt == expected:
        return None
    return ServiceError(
        "amount_mismatch",
        f"fees[{index}].det_item_fee_sumamt is {fee.det_item_fee_sumamt}, but pric × cnt "
        f"rounded half-up to the fen is {expected}",
        fields=[
            {
                "path": f"fees.{index}.det_item_fee_sumamt",
                "message": f"expected {expected}",
                "type": "amount_mismatch",
            }
        ],
        expected=f"{expected:.2f}",
    )


def patient_refusal(
    psn_no: str,
    person: PersonRecord | None,
    standing: Decision | None,
    overdue_shared_bills: Sequence[str],
) -> ServiceError | None:
    """Why the patient may not use credit now, if so: unknown to the insurance platform, not
    eligible, their standing, or (family policy) a relative's overdue bill drawn on their line.

    ``overdue_shared_bills``: those bills, or empty when the policy does not freeze for them.
    """
    if person is None:
        return ServiceError("patient_not_found", f"no insured person {psn_no}")
    assert standing is not None  # read with the person
    refusal = credit_refusal(person, standing)
    if refusal is not None:
        return refusal
    if overdue_shared_bills:
        # Family policy: a relative's overdue bill that drew on this line freezes it too.
        return ServiceError(
            "credit_frozen",
            "the credit line is frozen: a relative's bill that used it is overdue",
            status="frozen",
            overdue_shared_bills=list(overdue_shared_bills),
        )
    return None


def credit_refusal(person: PersonRecord, standing: Decision) -> ServiceError | None:
    """Why ``person`` may not use credit with this standing (family freezes aside), if so.

    The insurance record is checked as it is now (the standing was decided at signing); the
    credit platform's dishonest-debtor list is not asked on every charge.
    """
    if ineligibility(
        insutype=person.insutype, insured_active=person.insured_active, dishonest=False
    ):
        return ServiceError(
            "not_eligible",
            "credit medical care is for active employee medical insurance (insutype 310)",
        )
    if standing.status != "active":
        code, message = STANDING_REFUSALS[standing.status]
        return ServiceError(code, message, status=standing.status)
    return None


def local_date(timezone: str, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def price(
    fees: Sequence[FeeRequest], catalogue: Catalogue, rules: ChargeRules, *, begntime: datetime
) -> list[PricedLine] | ServiceError:
    """The batch priced with the insurance policy in force on the visit's day."""
    policy = rules.policies.in_force(local_date(rules.timezone, begntime))
    try:
        inputs = [
            FeeLineInput(
                feedetl_sn=fee.feedetl_sn,
                med_list_codg=fee.med_list_codg,
                item_name=fee.item_name,
                pric=fee.pric,
                cnt=fee.cnt,
                hosp_appr_flag=fee.hosp_appr_flag,
            )
            for fee in fees
        ]
    except InsuranceError as error:
        return ServiceError("validation_error", error.message)
    return price_lines(inputs, catalogue, policy)


def fee_values(
    visit: ChargedVisit, chrg_bchno: str, fee: FeeRequest, line: PricedLine, now: datetime
) -> dict[str, Any]:
    """The fee-line row of a held line."""
    return {
        "mdtrt_id": visit.mdtrt_id,
        "feedetl_sn": fee.feedetl_sn,
        "chrg_bchno": chrg_bchno,
        "med_list_codg": fee.med_list_codg,
        "item_name": fee.item_name,
        "pric": fee.pric,
        "cnt": fee.cnt,
        "det_item_fee_sumamt_fen": to_fen(line.det_item_fee_sumamt),
        "chrgitm_lv": line.chrgitm_lv,
        "selfpay_prop": line.selfpay_prop,
        "fulamt_ownpay_amt_fen": to_fen(line.fulamt_ownpay_amt),
        "overlmt_amt_fen": to_fen(line.overlmt_amt),
        "preselfpay_amt_fen": to_fen(line.preselfpay_amt),
        "inscp_scp_amt_fen": to_fen(line.inscp_scp_amt),
        "pric_uplmt_amt": line.pric_uplmt_amt,
        "unlisted": line.unlisted,
        "lmt_used_flag": line.lmt_used_flag,
        "hosp_appr_flag": line.hosp_appr_flag,
        "fee_ocur_time": fee.fee_ocur_time,
        "status": "held",
        "hold_transfer_id": f"hold:{visit.mdtrt_id}:{fee.feedetl_sn}",
        "posted_at": now,
    }


# -- the pooled fund's share at close (settlement_mode visit_end) ----------------------------------


def fund_legs(
    setl_id: str,
    psn_no: str,
    fund_fen: int,
    shares: Sequence[tuple[str, Decimal]],
    *,
    kept: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The pooled fund's share paid into the lines the bill drew on, in order (the patient's own
    line first, then each family manager's): exactly the pooled fund's legs of the repayment's
    waterfall (``settlement.usecases.paying.decide.plan_legs``), which pays the fund first. A
    leg's id is ``fund:{setl_id}:hifp``, with ``:{psn_no}`` for a manager's line; ``at_close``
    marks it posted when the visit closed, never by a payment.

    ``kept``: the least a line's leg must be, by line (a refund re-settling the fund: what a line
    has no room to give back of its old legs); the rest is paid in order as above. No leg exceeds
    its line's share.

    Raises:
        ServiceError: ``conflict`` if the lines carry less than the fund's share, or less than
        what they must keep, or keep more than the fund's share.
    """
    kept = kept or {}
    caps = [(line, to_fen(amount)) for line, amount in shares]
    takes = {line: kept.get(line, 0) for line, _ in caps}
    unplaced = {line for line, fen in kept.items() if fen > 0} - takes.keys()
    if unplaced or any(takes[line] > cap for line, cap in caps):
        raise ServiceError("conflict", f"{setl_id}: a line keeps more fund than it carries")
    left = fund_fen - sum(takes.values())
    for line, cap in caps:
        more = max(min(left, cap - takes[line]), 0)
        takes[line] += more
        left -= more
    if left:
        raise ServiceError("conflict", f"{setl_id}: the fund's share does not fit the bill's lines")
    return [_fund_leg(setl_id, psn_no, line, takes[line]) for line, _ in caps if takes[line] > 0]


def _fund_leg(setl_id: str, psn_no: str, line: str, fen: int) -> dict[str, Any]:
    suffix = "" if line == psn_no else f":{line}"
    return {
        "id": f"fund:{setl_id}:hifp{suffix}",
        "source": "hifp",
        "line": line,
        "amount_fen": fen,
        "at_close": True,
    }
