"""outbox.body_en (issue 16 item 5): each message in English beside its Chinese text

Revision ID: 0009_people_outbox_english
Revises: 0008_scheduler_sandbox_clock
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_people_outbox_english'
down_revision = '0008_scheduler_sandbox_clock'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_en', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('body_en')
