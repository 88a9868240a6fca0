"""sweep failures: what a sweep could not do to one item, for the operators

One row per failed attempt of a sweep at one item (a visit, a bill, an order, a message): the
sweep, the item's id, the error's class and a message without personal data.

Revision ID: 0007_scheduler_sweep_failures
Revises: 0006_national_details
Create Date: 2026-12-03 10:30:00
"""

import sqlalchemy as sa
from alembic import op

from settlement.foundation.orm import UTCDateTime

revision = "0007_scheduler_sweep_failures"
down_revision = "0006_national_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sweep", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("error_class", sa.String(length=100), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_failures")),
    )
    op.create_index("ix_sweep_failures_failed_at", "sweep_failures", ["failed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sweep_failures_failed_at", table_name="sweep_failures")
    op.drop_table("sweep_failures")
