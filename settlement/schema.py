"""Every table of the service, imported in one place for Alembic and for tests."""

from __future__ import annotations

from sqlalchemy import MetaData

from settlement.orm import Base


def load_all_tables() -> MetaData:
    """Import every module that declares tables and return the complete metadata."""
    # Each module registers its tables on Base.metadata when imported.
    import settlement.access
    import settlement.accumulators
    import settlement.adapters.sandbox_tables
    import settlement.care.tables
    import settlement.catalogue_store
    import settlement.credit_line
    import settlement.credit_service.tables
    import settlement.family.tables
    import settlement.idempotency
    import settlement.ledger.tables
    import settlement.messages.tables
    import settlement.payments.tables
    import settlement.scheduler.tables  # noqa: F401

    return Base.metadata
