"""The catalogue as the service keeps it: seeded from ``seeds/catalogue.csv``, edited by admins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from insurance.catalogue import Catalogue, CatalogueItem
from settlement.foundation.db import execute_on_connection
from settlement.foundation.lists import in_listed, listed
from settlement.foundation.orm import Base, DecimalText, UTCDateTime


class CatalogueItemRow(Base):
    __tablename__ = "catalogue_items"

    med_list_codg: Mapped[str] = mapped_column(String(50), primary_key=True)
    item_name: Mapped[str] = mapped_column(String(200))
    chrgitm_lv: Mapped[str] = mapped_column(String(1))
    selfpay_prop: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    pric_uplmt_amt: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    category: Mapped[str] = mapped_column(String(40), default="")
    lmt_used_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def item(self) -> CatalogueItem:
        return catalogue_item(self)


def catalogue_item(row: Any) -> CatalogueItem:
    """The item of ``row``: a mapped row, or a result row with :data:`ITEM_COLUMNS`."""
    return CatalogueItem(
        med_list_codg=row.med_list_codg,
        item_name=row.item_name,
        chrgitm_lv=row.chrgitm_lv,
        selfpay_prop=row.selfpay_prop,
        pric_uplmt_amt=row.pric_uplmt_amt,
        category=row.category,
        lmt_used_flag=bool(row.lmt_used_flag),
    )


ITEM_COLUMNS = (
    CatalogueItemRow.med_list_codg,
    CatalogueItemRow.item_name,
    CatalogueItemRow.chrgitm_lv,
    CatalogueItemRow.selfpay_prop,
    CatalogueItemRow.pric_uplmt_amt,
    CatalogueItemRow.category,
    CatalogueItemRow.lmt_used_flag,
)


def catalogue_for(session: Session, codes: Iterable[str]) -> Catalogue:
    """The catalogue restricted to ``codes`` (one query); unlisted codes are simply absent."""
    wanted = sorted(set(codes))
    if not wanted:
        return Catalogue(())
    # Columns, not mapped objects: every charge batch prices its lines from them.
    statement = _ITEMS[session.get_bind().dialect.name]
    rows = execute_on_connection(session, statement, {"codes": listed(session, wanted)})
    return Catalogue(catalogue_item(row) for row in rows)


#: Built once: every charge batch prices its lines from it (one text for any number of codes).
_ITEMS = {
    dialect: select(*ITEM_COLUMNS).where(
        in_listed(CatalogueItemRow.med_list_codg, "codes", postgres=dialect == "postgresql")
    )
    for dialect in ("postgresql", "sqlite")
}


def put_item(
    session: Session, item: CatalogueItem, *, now: datetime
) -> tuple[CatalogueItemRow, bool]:
    """Create or replace one item; returns the row and whether it was new."""
    row = session.get(CatalogueItemRow, item.med_list_codg)
    created = row is None
    if row is None:
        row = CatalogueItemRow(med_list_codg=item.med_list_codg, updated_at=now)
        session.add(row)
    row.item_name = item.item_name
    row.chrgitm_lv = item.chrgitm_lv
    row.selfpay_prop = item.selfpay_prop
    row.pric_uplmt_amt = item.pric_uplmt_amt
    row.category = item.category
    row.lmt_used_flag = item.lmt_used_flag
    row.updated_at = now
    session.flush()
    return row, created


def load_items(session: Session, items: Iterable[CatalogueItem], *, now: datetime) -> int:
    """Insert the items not yet present (seeding never overwrites an administrator's edit)."""
    present = set(session.scalars(select(CatalogueItemRow.med_list_codg)).all())
    rows = [
        {
            "med_list_codg": item.med_list_codg,
            "item_name": item.item_name,
            "chrgitm_lv": item.chrgitm_lv,
            "selfpay_prop": item.selfpay_prop,
            "pric_uplmt_amt": item.pric_uplmt_amt,
            "category": item.category,
            "lmt_used_flag": item.lmt_used_flag,
            "updated_at": now,
        }
        for item in items
        if item.med_list_codg not in present
    ]
    if rows:
        session.execute(insert(CatalogueItemRow), rows)
    return len(rows)
