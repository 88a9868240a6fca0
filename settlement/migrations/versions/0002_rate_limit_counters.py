"""rate limit counters (issue 17): fixed-window hit counts shared by every API process

Revision ID: 0002_rate_limits
Revises: 0001
Create Date: 2026-12-03 07:40:00
"""
from alembic import op
import sqlalchemy as sa

import settlement.foundation.orm


revision = '0002_rate_limits'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('window_start', settlement.foundation.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_seconds', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('expires_at', settlement.foundation.orm.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', 'window_seconds', name=op.f('pk_rate_limit_counters'))
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counters_expires_at'))
    op.drop_table('rate_limit_counters')
