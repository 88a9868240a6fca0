"""Alembic environment: runs on the connection ``shuxin migrate`` hands it."""

from __future__ import annotations

from alembic import context

from settlement.foundation.db import make_engine
from settlement.schema import load_all_tables

config = context.config
target_metadata = load_all_tables()


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
