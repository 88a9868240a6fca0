"""bills.settlement_mode, fund_settled_fen, fund_settlement (issue 20 item 3): the pooled fund's
share settled at the end of the visit where the regional policy says so

Revision ID: 0013_mode_settlement_mode
Revises: 0012_lead_restricted_use
Create Date: 2026-12-03 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_mode_settlement_mode'
down_revision = '0012_lead_restricted_use'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'settlement_mode',
                sa.String(length=16),
                server_default='repayment',
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                'fund_settled_fen',
                sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                server_default='0',
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column('fund_settlement', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_column('fund_settlement')
        batch_op.drop_column('fund_settled_fen')
        batch_op.drop_column('settlement_mode')
