"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from settlement.foundation.db import make_engine
from settlement.migrate import upgrade
from settlement.schema import load_all_tables
from tests.database import postgres_url


def fresh_engine(tmp_path):
    url = postgres_url()
    if url is None:
        return make_engine(f"sqlite:///{tmp_path / 'migrated.db'}"), None
    schema = f"shuxin_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"}), schema


def drop(schema):
    if schema is None:
        return
    admin = make_engine(postgres_url())
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migrating_a_new_database_gives_the_models_schema_and_is_repeatable(tmp_path):
    engine, schema = fresh_engine(tmp_path)
    try:
        upgrade(engine)
        upgrade(engine)  # a second run has nothing to do
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": False, "include_schemas": False}
            )
            differences = compare_metadata(context, load_all_tables())
        assert differences == []
        assert "ledger_transfers" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
        drop(schema)


def test_the_migrated_ledger_refuses_to_update_or_delete_a_transfer(tmp_path):
    engine, schema = fresh_engine(tmp_path)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO ledger_accounts (code, kind, debits_must_not_exceed_credits, "
                    "credits_must_not_exceed_debits, debits_pending, debits_posted, "
                    "credits_pending, credits_posted, created_at) VALUES "
                    "('a', 'k', false, false, 0, 0, 0, 0, CURRENT_TIMESTAMP), "
                    "('b', 'k', false, false, 0, 0, 0, 0, CURRENT_TIMESTAMP)"
                )
            )
        columns = {c["name"] for c in inspect(engine).get_columns("ledger_transfers")}
        assert {"id", "amount", "debit_account_id", "credit_account_id"} <= columns
        with engine.connect() as connection:
            ids = (
                connection.execute(text("SELECT id FROM ledger_accounts ORDER BY id"))
                .scalars()
                .all()
            )
        insert = text(
            "INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount, "
            "code, created_at) VALUES ('t1', 'single_phase', :d, :c, 100, 'x', CURRENT_TIMESTAMP)"
        )
        with engine.begin() as connection:
            connection.execute(insert, {"d": ids[0], "c": ids[1]})
        for statement in ("UPDATE ledger_transfers SET amount = 1", "DELETE FROM ledger_transfers"):
            with pytest.raises(DBAPIError), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
        drop(schema)
