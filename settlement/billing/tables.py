"""Visits (2201), fee lines (2204) and bills: the rows the HIS writes through the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from settlement.foundation.orm import Base, DecimalText, FenColumn, UTCDateTime


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("hospital_code", "ipt_otp_no", name="hospital_ipt_otp_no"),
        Index("ix_visits_status_opened_at", "status", "opened_at"),
        # The operators' figures group visits by the day they opened.
        Index("ix_visits_opened_at", "opened_at"),
    )

    mdtrt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hospital_code: Mapped[str] = mapped_column(ForeignKey("hospitals.code"))
    ipt_otp_no: Mapped[str] = mapped_column(String(64))
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    med_type: Mapped[str] = mapped_column(String(8))
    dept_code: Mapped[str] = mapped_column(String(64))
    dept_name: Mapped[str] = mapped_column(String(100))
    dr_name: Mapped[str] = mapped_column(String(50))
    begntime: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(16), nullable=True)

    fees: Mapped[list[FeeLine]] = relationship(
        back_populates="visit", order_by="FeeLine.id", lazy="selectin"
    )


class FeeLine(Base):
    __tablename__ = "fee_lines"
    __table_args__ = (UniqueConstraint("mdtrt_id", "feedetl_sn", name="visit_feedetl_sn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visits.mdtrt_id"))
    feedetl_sn: Mapped[str] = mapped_column(String(64))
    chrg_bchno: Mapped[str] = mapped_column(String(64))
    med_list_codg: Mapped[str] = mapped_column(String(50))
    item_name: Mapped[str] = mapped_column(String(200))
    pric: Mapped[Decimal] = mapped_column(DecimalText)
    cnt: Mapped[Decimal] = mapped_column(DecimalText)
    det_item_fee_sumamt_fen: Mapped[int] = mapped_column(FenColumn)
    chrgitm_lv: Mapped[str] = mapped_column(String(1))
    selfpay_prop: Mapped[Decimal] = mapped_column(DecimalText)
    fulamt_ownpay_amt_fen: Mapped[int] = mapped_column(FenColumn)
    overlmt_amt_fen: Mapped[int] = mapped_column(FenColumn)
    preselfpay_amt_fen: Mapped[int] = mapped_column(FenColumn)
    inscp_scp_amt_fen: Mapped[int] = mapped_column(FenColumn)
    pric_uplmt_amt: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    unlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A restricted-use item (national ``lmt_used_flag``) and the hospital's approval flag for it.
    lmt_used_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    hosp_appr_flag: Mapped[str | None] = mapped_column(String(1), nullable=True)
    fee_ocur_time: Mapped[datetime] = mapped_column(UTCDateTime)
    #: held (on an open visit) → cancelled | billed → refunded
    status: Mapped[str] = mapped_column(String(16), default="held")
    hold_transfer_id: Mapped[str] = mapped_column(String(128))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    visit: Mapped[Visit] = relationship(back_populates="fees")


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (
        Index("ix_bills_status_due_at", "status", "due_at"),
        Index("ix_bills_hospital_closed_at", "hospital_code", "closed_at"),
        # The operators' figures count the bills that fell due on a day.
        Index("ix_bills_due_at", "due_at"),
    )

    bill_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visits.mdtrt_id"), unique=True)
    hospital_code: Mapped[str] = mapped_column(ForeignKey("hospitals.code"))
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16))
    medfee_sumamt_fen: Mapped[int] = mapped_column(FenColumn)
    #: What the bill came to when it closed, before any refund.
    billed_fen: Mapped[int] = mapped_column(FenColumn)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The pre-settlement (2206) split at close, as the contract's ``setlinfo`` strings.
    estimate: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The policy's settlement mode when the visit closed (``insurance.modes``): ``repayment``
    #: (everything settles when the patient repays) or ``visit_end`` (the pooled fund's share
    #: settled at close; the bill owes only the personal part).
    settlement_mode: Mapped[str] = mapped_column(
        String(16), default="repayment", server_default="repayment"
    )
    #: What the pooled fund settled at close (``visit_end``), net of refunds before repayment;
    #: the bill owes ``medfee_sumamt_fen − fund_settled_fen`` until it is repaid.
    fund_settled_fen: Mapped[int] = mapped_column(FenColumn, default=0, server_default="0")
    #: The fund's settlement at close (``visit_end``): its id, inputs and ledger legs, so that
    #: repayment and refunds rebuild exactly the split it settled
    #: (``settlement.usecases.charging.fund``); ``None`` in ``repayment`` mode.
    fund_settlement: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def owed_fen(self) -> int:
        """What the patient's credit carries for this bill until it is repaid: the bill less the
        pooled fund's share settled at close (``visit_end``; nothing in ``repayment``)."""
        return self.medfee_sumamt_fen - (self.fund_settled_fen or 0)


class BillEvent(Base):
    """Append-only history of a bill: every state change and refund, with who and why."""

    __tablename__ = "bill_events"
    # The operators' figures find the refunds (and each day's closings) without reading every
    # event.
    __table_args__ = (Index("ix_bill_events_kind_created_at", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.bill_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(FenColumn, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
