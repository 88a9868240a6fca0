"""indexes for the operators' figures

The daily report, the reconciliation and the console group visits, bills, bill events and
settlements by the local day of one of their times; these indexes find a day's rows (and the
refunds) without reading the whole table.

Revision ID: 0004_report_indexes
Revises: 0003_outbox_code_salt
Create Date: 2026-12-03 08:00:00
"""

from alembic import op

revision = "0004_report_indexes"
down_revision = "0003_outbox_code_salt"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_visits_opened_at", "visits", ["opened_at"]),
    ("ix_bills_due_at", "bills", ["due_at"]),
    ("ix_bill_events_kind_created_at", "bill_events", ["kind", "created_at"]),
    ("ix_bill_settlements_posted_at", "bill_settlements", ["posted_at"]),
    ("ix_bill_settlements_reversed_at", "bill_settlements", ["reversed_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
