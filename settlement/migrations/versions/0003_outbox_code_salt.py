"""outbox.code_salt (issue 17): a login code's salt until it is sent, never the code itself

Revision ID: 0003_outbox_code_salt
Revises: 0002_rate_limits
Create Date: 2026-12-03 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_outbox_code_salt'
down_revision = '0002_rate_limits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_salt', sa.String(length=32), nullable=True))
    # Login codes queued before this revision were stored in clear: mask them.
    op.execute(
        "UPDATE outbox SET body = '【舒心就医】您的登录验证码已发送（已隐去）。' "
        "WHERE kind = 'login_code' AND status <> 'pending'"
    )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('code_salt')
