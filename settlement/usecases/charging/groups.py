"""Group commit for charge batches: the batches that arrive together are posted together.

Every charge batch costs about a dozen statements, and on two cores each statement's fixed cost,
in the driver, the ORM's layer and PostgreSQL, is most of what a batch costs (see
``tests/bench/api.py``). So, as a database groups the commits that arrive together and TigerBeetle
applies a request's linked events together, a process posts the batches that wait while another
group is in the database as one group: one transaction, one statement per step for all of them
(record the nonces, on PostgreSQL, committed with the batches they sign; claim the keys, lock
the visits, read the patients, their standings and the catalogue, hold on
the ledger, insert the lines, store the answers). A batch that arrives alone is a group of one.

Every batch is decided by the same pure function as a batch posted alone
(:func:`settlement.usecases.charging.decide.decide_fee_batch`); the group only reads the facts
and writes the plans of many batches at once. A batch that is refused, or needs what only the
single path reads (a ``feedetl_sn`` that may repeat, a patient with family sharing or frozen by a
relative's bill), or whose holds the ledger refuses (a line too short), leaves the group
untouched and is then posted on its own by
:func:`settlement.usecases.charging.service.post_fees`, which gives the exact refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from insurance.errors import InsuranceError
from settlement.access.hospitals import Hospital
from settlement.access.nonces import NonceClaim, forget_nonces, record_nonces
from settlement.foundation.errors import ServiceError
from settlement.foundation.group_commit import GroupCommit
from settlement.foundation.idempotency import release_keys, store_answers, try_claim_keys
from settlement.foundation.unit_of_work import UnitOfWork, UnitOfWorkFactory
from settlement.ledger import chart
from settlement.ledger.ledger import create_transfer_chains
from settlement.usecases.charging.decide import (
    BatchFacts,
    ChargeRules,
    FeeBatch,
    FeeBatchResult,
    FeePlan,
    FeeRequest,
    decide_fee_batch,
)
from settlement.usecases.charging.facts import read_group_facts
from settlement.usecases.charging.service import ChargingContext, charge_rules
from settlement.usecases.charging.write import insert_fee_lines
from settlement.usecases.family.sharing import own_line_holds

#: Most batches in one group: enough for every thread of a process, small enough that a group's
#: transaction stays short.
MAX_GROUP = 32


@dataclass(frozen=True)
class ChargeRequest:
    """One charge batch (2204) with the idempotency claim it is posted under."""

    hospital: Hospital
    mdtrt_id: str
    chrg_bchno: str
    fees: tuple[FeeRequest, ...]
    scope: str
    key: str
    fingerprint: str
    #: The request's nonce when the group records it (else the caller recorded it already).
    nonce: NonceClaim | None = None


#: The answer stored for a posted batch (the same text is sent): rendered by the caller.
Render = Callable[[FeeBatchResult], str]


@dataclass(frozen=True)
class PostedCharge:
    result: FeeBatchResult
    answer: str  # as stored under the batch's idempotency key


class GroupContext(ChargingContext, Protocol):
    """What a group commit uses of the process: charging's collaborators and its transactions."""

    @property
    def uow(self) -> UnitOfWorkFactory: ...


class ChargeGroups:
    """A process's group commit of charge batches (:class:`GroupCommit`)."""

    def __init__(self, container: GroupContext, render: Render, *, max_group: int = MAX_GROUP):
        self.container = container
        self.render = render
        self.commit: GroupCommit[ChargeRequest, PostedCharge] = GroupCommit(
            self._run, max_group=max_group
        )

    def post(self, charge: ChargeRequest) -> PostedCharge | None:
        """Post ``charge`` with whatever batches wait with it; ``None``: post it on its own."""
        return self.commit.submit(charge)

    def _run(self, charges: list[ChargeRequest]) -> list[PostedCharge | None]:
        with self.container.uow() as uow:
            return post_fee_group(
                uow, container=self.container, charges=charges, render=self.render
            )


def post_fee_group(
    uow: UnitOfWork,
    *,
    container: ChargingContext,
    charges: Sequence[ChargeRequest],
    render: Render,
) -> list[PostedCharge | None]:
    """Post the charges that pass every check in one transaction, each all or nothing.

    Returns, per charge, its result and stored answer, or ``None`` for one left untouched (its
    key unclaimed, nothing of it written), which the caller posts on its own. Nothing posted:
    nothing committed.
    """
    session = uow.session
    rules = charge_rules(container)
    chosen, nonces, stale = _with_nonces_recorded(session, charges, _one_per_key_and_visit(charges))
    claimed = try_claim_keys(
        session,
        sorted((charges[i].scope, charges[i].key, charges[i].fingerprint) for i in chosen),
        now=rules.now,
    )
    chosen = [i for i in chosen if (charges[i].scope, charges[i].key) in claimed]
    plans = _decided(uow, container, rules, [(i, charges[i]) for i in chosen])
    outcomes = create_transfer_chains(
        session,
        [own_line_holds(plan.facts.visit, plan.priced) for _, plan in plans],
        clock=container.clock,
    )
    results: list[PostedCharge | None] = [None] * len(charges)
    rows = []
    answers = []
    for (index, plan), outcome in zip(plans, outcomes, strict=True):
        if outcome.error is not None:
            continue  # short of credit (or a visit without its sales account): on its own
        own_line = outcome.accounts[chart.patient_line(plan.facts.visit.psn_no)]
        result = plan.answer(available=own_line.available_debit)
        posted = results[index] = PostedCharge(result, render(result))
        rows.extend(plan.rows)
        answers.append((charges[index].scope, charges[index].key, 201, posted.answer))
    if not rows:
        uow.rollback()  # the claims too: every batch runs on its own
        return results
    insert_fee_lines(session, rows)
    store_answers(session, answers)
    release_keys(session, claimed - {(scope, key) for scope, key, _, _ in answers})
    forget_nonces(session, stale | {nonces[i] for i in nonces if results[i] is None})
    uow.commit()
    return results


def _with_nonces_recorded(
    session: Session, charges: Sequence[ChargeRequest], chosen: list[int]
) -> tuple[list[int], dict[int, tuple[str, str]], set[tuple[str, str]]]:
    """Record the nonces of the chosen charges that bring one (first, before their keys are
    claimed), in one statement.

    Returns the charges the group goes on with (those without a nonce to record, and those whose
    nonce it recorded under a secret still current), their recorded nonces by index, and the
    nonces recorded under a secret rotated since (to forget). A nonce seen before, twice in the
    group or under a rotated secret leaves its charge to run on its own, whose path records the
    nonce first and refuses a replay (401 ``nonce_reused``) as every request's does.
    """
    claims: dict[tuple[str, str], tuple[int, NonceClaim]] = {}
    for i in chosen:
        claim = charges[i].nonce
        if claim is not None:
            claims.setdefault((claim.hospital_code, claim.nonce), (i, claim))
    if not claims:
        return chosen, {}, set()
    recorded = record_nonces(session, [claim for _, (_, claim) in sorted(claims.items())])
    current = {claims[pair][0]: pair for pair, fresh in recorded.items() if fresh}
    going_on = [i for i in chosen if charges[i].nonce is None or i in current]
    return going_on, current, {pair for pair, fresh in recorded.items() if not fresh}


def _decided(
    uow: UnitOfWork,
    container: ChargingContext,
    rules: ChargeRules,
    charges: Sequence[tuple[int, ChargeRequest]],
) -> list[tuple[int, FeePlan]]:
    """Lock the charges' visits, read their facts for all of them at once, and decide each: the
    plans of those that pass, by index in the group."""
    session = uow.session
    batches = [_batch(charge) for _, charge in charges]
    facts = read_group_facts(
        session,
        batches,
        insurance=container.insurance_platform(session),
        config=container.credit_config,
        clock=container.clock,
    )
    plans = []
    for (index, _), batch, fact in zip(charges, batches, facts, strict=True):
        plan = _plan(batch, fact, rules)
        if plan is not None:
            plans.append((index, plan))
    return plans


def _plan(batch: FeeBatch, facts: BatchFacts | None, rules: ChargeRules) -> FeePlan | None:
    """The batch's plan, or ``None`` when it is refused or needs the single path's reads."""
    if facts is None:
        return None
    try:
        plan = decide_fee_batch(batch, facts, rules)
    except InsuranceError:
        return None
    return None if isinstance(plan, ServiceError) else plan


def _batch(charge: ChargeRequest) -> FeeBatch:
    return FeeBatch(charge.hospital.code, charge.mdtrt_id, charge.chrg_bchno, charge.fees)


def _one_per_key_and_visit(charges: Sequence[ChargeRequest]) -> list[int]:
    """The charges a group may take, in visit order: a second batch under the same key or on
    the same visit waits for the group to end (it then sees the first's answer or lines)."""
    keys: set[tuple[str, str]] = set()
    visits: set[str] = set()
    chosen = []
    for i in sorted(range(len(charges)), key=lambda i: charges[i].mdtrt_id):
        charge = charges[i]
        if (charge.scope, charge.key) in keys or charge.mdtrt_id in visits:
            continue
        keys.add((charge.scope, charge.key))
        visits.add(charge.mdtrt_id)
        chosen.append(i)
    return chosen
