"""Family links and the holds a relative's charges placed on a manager's line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime

INVITED = "invited"
ACTIVE = "active"
ENDED = "ended"
#: A link in one of these states counts against the limits and blocks a duplicate invitation.
LIVE = (INVITED, ACTIVE)
#: What the relative is to the manager (``parent``: the manager looks after a parent).
RELATIONS = ("spouse", "parent", "child", "other")
ACCEPTED_IN_APP = "app"
ACCEPTED_AT_COUNTER = "counter"


class FamilyLink(Base):
    """A manager looking after a relative: invited, then accepted (app or counter), then ended.

    At most one live (invited or active) link joins the same two people: a partial unique index
    says so in the database.
    """

    __tablename__ = "family_links"
    __table_args__ = (
        Index(
            "uq_family_links_live_pair",
            "manager_psn_no",
            "relative_psn_no",
            unique=True,
            sqlite_where=text("status IN ('invited', 'active')"),
            postgresql_where=text("status IN ('invited', 'active')"),
        ),
        Index("ix_family_links_relative_status", "relative_psn_no", "status"),
        Index("ix_family_links_manager_status", "manager_psn_no", "status"),
    )

    link_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    manager_psn_no: Mapped[str] = mapped_column(String(40))
    relative_psn_no: Mapped[str] = mapped_column(String(40))
    #: What the relative is to the manager: spouse | parent | child | other.
    relation: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    invited_by_psn_no: Mapped[str] = mapped_column(String(40))
    #: The manager typed the relative's certno and it matched the insurance record.
    certno_checked: Mapped[bool] = mapped_column(Boolean, default=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``app`` (the relative's own login) or ``counter`` (a hospital's staff, through the HIS).
    accepted_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    accepted_hospital_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    accepted_staff_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The last agreement the manager signed for the relative on the strength of this link.
    proxy_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Since when the manager has bound the relative for family mutual aid (家庭共济): the
    #: manager's personal account pays the relative's personal share when the manager pays.
    #: ``None``: not bound (the default; the manager turns it on and off).
    mutual_aid_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by_psn_no: Mapped[str | None] = mapped_column(String(40), nullable=True)


class SharedHold(Base):
    """The part of a relative's fee line held on (then posted to) a manager's line.

    The relative's own part, if any, is the fee line's ``hold_transfer_id``; each shared part is
    its own ledger transfer (``hold:{mdtrt_id}:{feedetl_sn}:shared``), recorded here so cancel,
    close, repayment and refunds know which line each fen came from.
    """

    __tablename__ = "family_shared_holds"
    __table_args__ = (Index("ix_family_shared_holds_visit_line", "mdtrt_id", "feedetl_sn"),)

    transfer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(String(40))
    feedetl_sn: Mapped[str] = mapped_column(String(64))
    relative_psn_no: Mapped[str] = mapped_column(String(40))
    manager_psn_no: Mapped[str] = mapped_column(String(40), index=True)
    link_id: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int] = mapped_column(FenColumn)
    #: Position of the manager in the link order when the hold was made (1 = first).
    rank: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
