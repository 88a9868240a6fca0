"""Credit tables: decisions (append-only) and agreement signatures (with their evidence)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from settlement.foundation.orm import Base, FenColumn, UTCDateTime


class CreditDecisionRow(Base):
    """One decision per row, never updated; a patient's latest ``seq`` is their standing."""

    __tablename__ = "credit_decisions"
    __table_args__ = (UniqueConstraint("psn_no", "seq"),)

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    #: 1, 2, 3 … per patient: the unique pair refuses two writers appending the same step.
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    line_fen: Mapped[int] = mapped_column(FenColumn)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    scorecard_version: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(32))
    suspended_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    overdue_unpaid: Mapped[int] = mapped_column(Integer, default=0)
    as_of: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgreementSignatureRow(Base):
    """A signature of one agreement version, with the evidence the issue asks to keep."""

    __tablename__ = "agreement_signatures"

    id: Mapped[int] = mapped_column(FenColumn, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    client_addr: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(400))
    #: ``off`` | ``on_close`` | ``before_deadline``: the withholding (无感支付) choice.
    autopay: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: A family manager who signed on the patient's behalf (the family issue).
    proxy_by_psn_no: Mapped[str | None] = mapped_column(String(30), nullable=True)
