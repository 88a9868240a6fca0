"""Restricted-use items (issue 20): the catalogue's lmt_used_flag, each line's and its approval

Revision ID: 0012_lead_restricted_use
Revises: 0011_paying_wallet_anomalies
Create Date: 2026-12-03 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_lead_restricted_use'
down_revision = '0011_paying_wallet_anomalies'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('catalogue_items', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('lmt_used_flag', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('fee_lines', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('lmt_used_flag', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('hosp_appr_flag', sa.String(length=1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fee_lines', schema=None) as batch_op:
        batch_op.drop_column('hosp_appr_flag')
        batch_op.drop_column('lmt_used_flag')
    with op.batch_alter_table('catalogue_items', schema=None) as batch_op:
        batch_op.drop_column('lmt_used_flag')
