"""account_movements (the intents of personal-account movements, written before the insurance
platform is called) and sandbox_account_movements (the sandbox platform's movements by key)

Revision ID: 0014_intent_account_movements
Revises: 0013_mode_settlement_mode
Create Date: 2026-12-03 16:30:00
"""
from alembic import op
import sqlalchemy as sa

import settlement.foundation.orm


revision = '0014_intent_account_movements'
down_revision = '0013_mode_settlement_mode'
branch_labels = None
depends_on = None

FEN = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('account_movements',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('bill_id', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=160), nullable=False),
    sa.Column('psn_no', sa.String(length=40), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', FEN, nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', settlement.foundation.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', settlement.foundation.orm.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_account_movements'))
    )
    with op.batch_alter_table('account_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_movements_bill_id'), ['bill_id'], unique=False)
        batch_op.create_index('ix_account_movements_state_created', ['state', 'created_at'], unique=False)
    op.create_table('sandbox_account_movements',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', FEN, nullable=False),
    sa.Column('balc_after_fen', FEN, nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sandbox_account_movements'))
    )


def downgrade() -> None:
    op.drop_table('sandbox_account_movements')
    with op.batch_alter_table('account_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_account_movements_state_created')
        batch_op.drop_index(batch_op.f('ix_account_movements_bill_id'))
    op.drop_table('account_movements')
