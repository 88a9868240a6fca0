"""This policy year's deductible used and pooled fund paid, per person (the split's memory)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from insurance.money import ZERO, from_fen, to_fen
from insurance.split import Accumulators
from settlement.foundation.db import lock_until_commit
from settlement.foundation.orm import Base, FenColumn, UTCDateTime
from settlement.foundation.ports import PersonRecord
from settlement.foundation.writes import Write, upserted, write_all


class AccumulatorRow(Base):
    __tablename__ = "insurance_accumulators"

    psn_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    deductible_used_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    hifp_paid_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def accumulators_for(
    session: Session,
    *,
    person: PersonRecord,
    policy_year: int,
    current_year: int,
    read: Mapping[int, AccumulatorRow] | None = None,
) -> Accumulators:
    """Used in ``policy_year``; the platform's year-to-date seeds the current year. ``read``:
    the person's rows by policy year, already read under their lock (none read again)."""
    row = (
        session.get(AccumulatorRow, (person.psn_no, policy_year))
        if read is None
        else read.get(policy_year)
    )
    if row is not None:
        return Accumulators(
            policy_year=policy_year,
            deductible_used=from_fen(row.deductible_used_fen),
            hifp_paid=from_fen(row.hifp_paid_fen),
        )
    if policy_year == current_year:
        return Accumulators(
            policy_year=policy_year,
            deductible_used=person.ytd_act_pay_dedc,
            hifp_paid=person.ytd_hifp_pay,
        )
    return Accumulators(policy_year=policy_year, deductible_used=ZERO, hifp_paid=ZERO)


def store_accumulators(
    session: Session, *, psn_no: str, accumulators: Accumulators, now: datetime
) -> None:
    """Record the accumulators after a settlement or a reversal: one upsert, which locks the row
    until commit as a ``SELECT … FOR UPDATE`` would (callers hold the person's lock as well)."""
    write_all(
        session, [accumulators_stored(session, psn_no=psn_no, accumulators=accumulators, now=now)]
    )


def accumulators_stored(
    session: Session, *, psn_no: str, accumulators: Accumulators, now: datetime
) -> Write:
    """:func:`store_accumulators` as a write sent with others (``write_all``)."""
    values = {
        "psn_no": psn_no,
        "policy_year": accumulators.policy_year,
        "deductible_used_fen": to_fen(accumulators.deductible_used),
        "hifp_paid_fen": to_fen(accumulators.hifp_paid),
        "updated_at": now,
    }

    def expire_loaded() -> None:
        # A copy of the row this session loaded earlier is out of date now: read it afresh.
        loaded = session.identity_map.get(
            session.identity_key(AccumulatorRow, (psn_no, accumulators.policy_year))
        )
        if loaded is not None:
            session.expire(loaded)

    return upserted(
        AccumulatorRow.__table__,
        values,
        ("psn_no", "policy_year"),
        then=expire_loaded,
        what=f"accumulators of {psn_no}",
    )


def lock_person(session: Session, psn_no: str) -> None:
    """Serialise splits of one person (accumulators, personal account) until commit: a payment,
    a refund, and a close (which may settle the pooled fund's share, ``settlement_mode``
    visit_end, or the whole bill at once).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: writers are already serialised.
    Paying takes it before the ledger's account locks, and so does closing a visit: never the
    other way round.
    """
    if session.get_bind().dialect.name == "postgresql":
        lock_until_commit(session, f"pay:{psn_no}")
