"""shared ledger accounts keep their balances in stripes

The pooled fund, the wallet providers' clearing accounts and the scheme's credit account have no
limit and are touched by every payment (or every grant): their balance changes go to one of 16
stripe rows per account, so payments no longer queue on one row lock.

Revision ID: 0005_ledger_stripes
Revises: 0004_report_indexes
Create Date: 2026-12-03 10:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_ledger_stripes"
down_revision = "0004_report_indexes"
branch_labels = None
depends_on = None

FEN = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SHARED_KINDS = ("fund", "wallet_clearing", "scheme")


def upgrade() -> None:
    op.add_column(
        "ledger_accounts",
        sa.Column("striped", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if op.get_bind().dialect.name == "postgresql":
        # SQLite cannot add a table constraint without copying the table (which the transfers'
        # foreign keys and triggers make unsafe); the ledger refuses such an account anyway.
        op.create_check_constraint(
            op.f("ck_ledger_accounts_striped_without_limits"),
            "ledger_accounts",
            "NOT (striped AND (debits_must_not_exceed_credits OR credits_must_not_exceed_debits))",
        )
    op.create_table(
        "ledger_account_stripes",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stripe", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("debits_pending", FEN, nullable=False),
        sa.Column("debits_posted", FEN, nullable=False),
        sa.Column("credits_pending", FEN, nullable=False),
        sa.Column("credits_posted", FEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_account_stripes_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "stripe", name=op.f("pk_ledger_account_stripes")),
    )
    kinds = ", ".join(f"'{kind}'" for kind in SHARED_KINDS)
    op.execute(
        "UPDATE ledger_accounts SET striped = true WHERE kind IN ("
        + kinds
        + ") AND NOT debits_must_not_exceed_credits AND NOT credits_must_not_exceed_debits"
    )


def downgrade() -> None:
    # Fold the stripes back into their accounts before dropping them.
    op.execute(
        "UPDATE ledger_accounts SET"
        " debits_pending = debits_pending + (SELECT coalesce(sum(s.debits_pending), 0)"
        "   FROM ledger_account_stripes s WHERE s.account_id = ledger_accounts.id),"
        " debits_posted = debits_posted + (SELECT coalesce(sum(s.debits_posted), 0)"
        "   FROM ledger_account_stripes s WHERE s.account_id = ledger_accounts.id),"
        " credits_pending = credits_pending + (SELECT coalesce(sum(s.credits_pending), 0)"
        "   FROM ledger_account_stripes s WHERE s.account_id = ledger_accounts.id),"
        " credits_posted = credits_posted + (SELECT coalesce(sum(s.credits_posted), 0)"
        "   FROM ledger_account_stripes s WHERE s.account_id = ledger_accounts.id)"
    )
    op.drop_table("ledger_account_stripes")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            op.f("ck_ledger_accounts_striped_without_limits"), "ledger_accounts", type_="check"
        )
    op.drop_column("ledger_accounts", "striped")
