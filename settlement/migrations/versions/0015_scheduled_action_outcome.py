"""scheduled_actions: an index on (outcome, kind, bill_id), for the escalation sweep's
unresolved intents (outcome ``reporting``), which it otherwise looked for under every bill

Revision ID: 0015_scheduled_action_outcome
Revises: 0014_intent_account_movements
Create Date: 2026-12-03 20:10:00
"""
from alembic import op


revision = '0015_scheduled_action_outcome'
down_revision = '0014_intent_account_movements'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scheduled_actions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_scheduled_actions_outcome_kind', ['outcome', 'kind', 'bill_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('scheduled_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_actions_outcome_kind')
