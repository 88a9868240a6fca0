"""Which database errors are the database being unreachable (503) and which are defects (500)."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from api.errors import database_unreachable
from settlement.foundation.db import make_engine


def error_of(engine, statement: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text(statement))
    return raised.value


def test_a_statement_the_database_refuses_is_a_defect_not_an_outage(engine):
    assert not database_unreachable(error_of(engine, "SELECT * FROM no_such_table"))


@pytest.mark.postgres
def test_a_database_that_is_gone_or_a_server_that_does_not_listen_is_unreachable(postgres_only):
    url = make_url(postgres_only.url)
    for gone in (url.set(database="shuxin_no_such_database"), url.set(port=1)):
        engine = make_engine(gone.render_as_string(hide_password=False), pool_size=1)
        assert database_unreachable(error_of(engine, "SELECT 1"))
        engine.dispose()
