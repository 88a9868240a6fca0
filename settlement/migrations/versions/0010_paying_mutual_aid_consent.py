"""family_links.mutual_aid_since (issue 16): mutual aid only where the manager bound the relative

Revision ID: 0010_paying_mutual_aid_consent
Revises: 0009_people_outbox_english
Create Date: 2026-12-03 10:30:00
"""
from alembic import op
import sqlalchemy as sa

import settlement.foundation.orm


revision = '0010_paying_mutual_aid_consent'
down_revision = '0009_people_outbox_english'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing links start unbound: mutual aid was never consented to.
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mutual_aid_since', settlement.foundation.orm.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.drop_column('mutual_aid_since')
