"""the sandbox's test clock, in the database

One row: how far business time is ahead of the wall clock, so every API process and the
scheduler read the same time and a restart keeps it.

Revision ID: 0008_scheduler_sandbox_clock
Revises: 0007_scheduler_sweep_failures
Create Date: 2026-12-03 11:00:00
"""

import sqlalchemy as sa
from alembic import op

from settlement.foundation.orm import UTCDateTime

revision = "0008_scheduler_sandbox_clock"
down_revision = "0007_scheduler_sweep_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "offset_us", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("moved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_clock")),
    )


def downgrade() -> None:
    op.drop_table("sandbox_clock")
