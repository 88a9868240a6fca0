"""Group commit for charge batches: the batches that arrive together are posted together.

Every charge batch costs about a dozen statements, and on two cores each statement's fixed cost,
in the driver, the ORM's layer and PostgreSQL, is most of what a batch costs (see
``tests/bench/api.py``). So, as a database groups the commits that arrive together and TigerBeetle
applies a request's linked events together, a process posts the batches that wait while another
group is in the database as one group: one transaction, one statement per step for all of them
(claim the keys, lock the visits, read the patients, their standings and the catalogue, hold on
the ledger, insert the lines, store the answers). A batch that arrives alone is a group of one.

The group takes only what it can post without a question: a batch that would be refused, or is
unusual (a visit that is not this hospital's or not open, a ``feedetl_sn`` that may repeat, a
patient with family sharing, a line too short), leaves the group untouched and is then posted on
its own by :func:`settlement.usecases.charging.visits.post_fees`, which gives the exact
refusal. So there is one set of rules, and the group is only a faster way through them for
batches that pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from insurance.errors import InsuranceError
from insurance.pricing import PricedLine
from settlement.access.hospitals import Hospital
from settlement.billing.catalogue import catalogue_for
from settlement.bootstrap import Container
from settlement.foundation.db import execute_on_connection
from settlement.foundation.errors import ServiceError
from settlement.foundation.group_commit import GroupCommit
from settlement.foundation.idempotency import release_keys, store_answers, try_claim_keys
from settlement.foundation.unit_of_work import UnitOfWork
from settlement.ledger import chart
from settlement.ledger.ledger import create_transfer_chains
from settlement.usecases.charging.visits import (
    FEE_LINES,
    ChargeFacts,
    FeeBatchResult,
    FeeRequest,
    check_batch,
    check_stated_times,
    credit_refusal,
    fee_times,
    posted_batch,
    price_with_catalogue,
    visits_for_charges,
)
from settlement.usecases.credit.decisions import credit_standings
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


#: The answer stored for a posted batch (the same text is sent): rendered by the caller.
Render = Callable[[FeeBatchResult], str]


@dataclass(frozen=True)
class PostedCharge:
    result: FeeBatchResult
    answer: str  # as stored under the batch's idempotency key


class ChargeGroups:
    """A process's group commit of charge batches (:class:`GroupCommit`)."""

    def __init__(self, container: Container, render: Render, *, max_group: int = MAX_GROUP):
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
    uow: UnitOfWork, *, container: Container, charges: Sequence[ChargeRequest], render: Render
) -> list[PostedCharge | None]:
    """Post the charges that pass every check in one transaction, each all or nothing.

    Returns, per charge, its result and stored answer, or ``None`` for one left untouched (its
    key unclaimed, nothing of it written), which the caller posts on its own. Nothing posted:
    nothing committed.
    """
    session = uow.session
    now = container.clock.now()
    chosen = _one_per_key_and_visit(charges)
    claimed = try_claim_keys(
        session,
        sorted((charges[i].scope, charges[i].key, charges[i].fingerprint) for i in chosen),
        now=now,
    )
    priced = _priced(
        session,
        container,
        charges,
        [i for i in chosen if (charges[i].scope, charges[i].key) in claimed],
    )
    outcomes = create_transfer_chains(
        session,
        [own_line_holds(batch.facts.visit, batch.lines) for batch in priced],
        clock=container.clock,
    )
    results: list[PostedCharge | None] = [None] * len(charges)
    rows = []
    answers = []
    for batch, outcome in zip(priced, outcomes, strict=True):
        if outcome.error is not None:
            continue  # short of credit (or a visit without its sales account): on its own
        charge = charges[batch.index]
        own_line = outcome.accounts[chart.patient_line(batch.facts.visit.psn_no)]
        values, result = posted_batch(
            batch.facts,
            charge.chrg_bchno,
            charge.fees,
            batch.lines,
            available=own_line.available_debit,
            now=now,
        )
        posted = results[batch.index] = PostedCharge(result, render(result))
        rows.extend(values)
        answers.append((charge.scope, charge.key, 201, posted.answer))
    if not rows:
        uow.rollback()  # the claims too: every batch runs on its own
        return results
    execute_on_connection(session, FEE_LINES.insert(), rows)
    store_answers(session, answers)
    release_keys(session, claimed - {(scope, key) for scope, key, _, _ in answers})
    uow.commit()
    return results


@dataclass(frozen=True)
class _PricedBatch:
    index: int  # in the group
    facts: ChargeFacts
    lines: list[PricedLine]


def _priced(
    session: Session, container: Container, charges: Sequence[ChargeRequest], chosen: list[int]
) -> list[_PricedBatch]:
    """Lock the chosen batches' visits, read what they need (one statement each for all), and
    price the batches that pass every check: the others are left out."""
    facts = visits_for_charges(
        session,
        [charges[i].mdtrt_id for i in chosen],
        sorted({fee.feedetl_sn for i in chosen for fee in charges[i].fees}),
    )
    ready = [(i, facts[c.mdtrt_id]) for i in chosen if _plain(container, c := charges[i], facts)]
    if not ready:
        return []
    persons = container.insurance_platform(session).lookup_persons(
        {fact.visit.psn_no for _, fact in ready}
    )
    standings = credit_standings(
        session, persons.keys(), config=container.credit_config, clock=container.clock
    )
    catalogue = catalogue_for(
        session, {fee.med_list_codg for i, _ in ready for fee in charges[i].fees}
    )
    priced = []
    for i, fact in ready:
        person = persons.get(fact.visit.psn_no)
        if person is None or credit_refusal(person, standings[person.psn_no]) is not None:
            continue
        try:
            lines = price_with_catalogue(container, catalogue, fact.visit, charges[i].fees)
        except (ServiceError, InsuranceError):
            continue
        priced.append(_PricedBatch(index=i, facts=fact, lines=lines))
    return priced


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


def _plain(container: Container, charge: ChargeRequest, facts: dict[str, ChargeFacts]) -> bool:
    """Whether the group may post ``charge`` without a question about its visit or batch."""
    fact = facts.get(charge.mdtrt_id)
    if (
        fact is None
        or fact.hospital_code != charge.hospital.code
        or fact.visit.status != "open"
        or fact.any_repeated
        or fact.has_sharing_links
        or fact.frozen_by_family
    ):
        return False
    try:
        check_batch(charge.mdtrt_id, charge.fees, set())
        check_stated_times(container, fee_times(charge.fees))
    except ServiceError:
        return False
    return True
