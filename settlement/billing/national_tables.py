"""What an HIS sends in the national shape that Shuxin does not price with (yet), kept with the
visit (2201: ``insutype``, ``mdtrt_cert_type``, ``atddr_no``, ``caty``, …) or the fee line (2204:
``medins_list_codg``, ``hosp_appr_flag``, ``dise_codg``, ``rxno``, the billing and ordering
doctors' and departments' codes, …) it came with: for audit and a detailed reconciliation.
``hosp_appr_flag`` also prices (it is stored on the fee line, see ``insurance.pricing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from settlement.foundation.orm import Base, UTCDateTime

#: The ``feedetl_sn`` of a visit's own details (2201), beside its lines'.
VISIT_LEVEL = ""


class NationalDetail(Base):
    __tablename__ = "national_details"

    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visits.mdtrt_id"), primary_key=True)
    feedetl_sn: Mapped[str] = mapped_column(String(64), primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


def keep_national_details(
    session: Session, *, mdtrt_id: str, details: Mapping[str, Mapping[str, Any]], now: datetime
) -> None:
    """Keep each line's (``feedetl_sn`` → fields; :data:`VISIT_LEVEL` for the visit) national
    fields, once: a retry of the same message keeps what the first kept."""
    wanted = {sn: dict(fields) for sn, fields in details.items() if fields}
    if not wanted:
        return
    kept = set(
        session.scalars(
            select(NationalDetail.feedetl_sn).where(
                NationalDetail.mdtrt_id == mdtrt_id, NationalDetail.feedetl_sn.in_(list(wanted))
            )
        )
    )
    session.add_all(
        NationalDetail(mdtrt_id=mdtrt_id, feedetl_sn=sn, fields=fields, recorded_at=now)
        for sn, fields in wanted.items()
        if sn not in kept
    )
    session.flush()


def national_details(session: Session, mdtrt_id: str) -> dict[str, dict[str, Any]]:
    """What was kept for the visit, by ``feedetl_sn`` (:data:`VISIT_LEVEL` for the visit)."""
    rows = session.scalars(select(NationalDetail).where(NationalDetail.mdtrt_id == mdtrt_id))
    return {row.feedetl_sn: dict(row.fields) for row in rows}
