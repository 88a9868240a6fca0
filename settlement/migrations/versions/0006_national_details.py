"""the national fields an HIS sends that Shuxin does not price with, kept per visit and line

Revision ID: 0006_national_details
Revises: 0005_ledger_stripes
Create Date: 2026-12-03 11:20:00
"""

import sqlalchemy as sa
from alembic import op

import settlement.foundation.orm

revision = "0006_national_details"
down_revision = "0005_ledger_stripes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "national_details",
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("feedetl_sn", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column(
            "recorded_at", settlement.foundation.orm.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["mdtrt_id"],
            ["visits.mdtrt_id"],
            name=op.f("fk_national_details_mdtrt_id_visits"),
        ),
        sa.PrimaryKeyConstraint("mdtrt_id", "feedetl_sn", name=op.f("pk_national_details")),
    )


def downgrade() -> None:
    op.drop_table("national_details")
