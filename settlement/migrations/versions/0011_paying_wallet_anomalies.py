"""wallet_anomalies (issue 17): callbacks contradicting the recorded outcome, and what was done

Revision ID: 0011_paying_wallet_anomalies
Revises: 0010_paying_mutual_aid_consent
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa

import settlement.foundation.orm


revision = '0011_paying_wallet_anomalies'
down_revision = '0010_paying_mutual_aid_consent'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'wallet_anomalies',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('order_id', sa.String(length=40), nullable=False),
        sa.Column('bill_id', sa.String(length=40), nullable=False),
        sa.Column('recorded', sa.String(length=16), nullable=False),
        sa.Column('reported', sa.String(length=16), nullable=False),
        sa.Column('provider_status', sa.String(length=16), nullable=False),
        sa.Column('amount_fen', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('resolution', sa.String(length=16), nullable=False),
        sa.Column('setl_id', sa.String(length=40), nullable=True),
        sa.Column('refund_id', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.String(length=300), nullable=False),
        sa.Column('created_at', settlement.foundation.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['wallet_orders.order_id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('wallet_anomalies', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_anomalies_bill_id', ['bill_id'], unique=False)
        batch_op.create_index('ix_wallet_anomalies_created_at', ['created_at'], unique=False)
        batch_op.create_index(
            'uq_wallet_anomalies_order_reported', ['order_id', 'reported'], unique=True
        )


def downgrade() -> None:
    op.drop_table('wallet_anomalies')
