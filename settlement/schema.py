"""Every table of the service, imported in one place for Alembic and for tests."""

from __future__ import annotations

from sqlalchemy import MetaData

from settlement.foundation.orm import Base


def load_all_tables() -> MetaData:
    """Import every module that declares tables and return the complete metadata."""
    # Each module registers its tables on Base.metadata when imported.
    import settlement.access
    import settlement.adapters.sandbox_tables
    import settlement.billing.accumulators
    import settlement.billing.catalogue
    import settlement.billing.credit_line
    import settlement.billing.credit_tables
    import settlement.billing.family_tables
    import settlement.billing.movement_tables
    import settlement.billing.national_tables
    import settlement.billing.payment_tables
    import settlement.billing.tables
    import settlement.foundation.idempotency
    import settlement.foundation.sandbox_clock
    import settlement.foundation.sweep_failures
    import settlement.ledger.tables
    import settlement.messages.tables
    import settlement.scheduler.tables  # noqa: F401

    return Base.metadata
