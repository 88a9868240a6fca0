"""A patient's advisory locks serialise the writers of one schema, never those of another schema
of the same PostgreSQL database (another deployment, or another test run)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from settlement.billing.accumulators import lock_person
from settlement.billing.credit_records import CreditRepository
from settlement.foundation.db import make_engine
from settlement.usecases.family.links import lock_family
from settlement.usecases.overdue.facts import lock_patients
from tests.database import PostgresTestDatabase

pytestmark = pytest.mark.postgres

PSN_NO = "37140000000000000001"  # every run's first patient has this number


@pytest.fixture
def other_schema(postgres_only: PostgresTestDatabase) -> Iterator[Engine]:
    """An engine on a second, empty schema of the same database."""
    schema = f"shuxin_other_{uuid.uuid4().hex[:12]}"
    with postgres_only.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres_only.url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with postgres_only.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


LOCKS = {
    "pay": lambda session: lock_person(session, PSN_NO),
    "credit": lambda session: CreditRepository(session).lock_patient(PSN_NO),
    "credit, in a batch": lambda session: lock_patients(session, [PSN_NO]),
    "family": lambda session: lock_family(session, PSN_NO),
}


def waits(engine: Engine, lock) -> bool:
    """Whether taking ``lock`` on ``engine`` has to wait (for more than 0.2 s)."""
    with Session(engine) as session, session.begin():
        session.execute(text("SET LOCAL lock_timeout = '200ms'"))
        try:
            lock(session)
        except OperationalError as error:
            assert "lock timeout" in str(error)
            return True
        return False


@pytest.fixture
def same_schema(postgres_only: PostgresTestDatabase) -> Iterator[Engine]:
    """A second engine on the run's schema: another process of the same deployment."""
    engine = postgres_only.make_engine(pool_size=1)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("held", "wanted"),
    [(kind, kind) for kind in LOCKS] + [("credit", "credit, in a batch")],
)
def test_a_patients_lock_holds_back_its_own_schema_only(
    postgres_only, same_schema, other_schema, held, wanted
):
    with Session(postgres_only.engine) as holder, holder.begin():
        LOCKS[held](holder)
        assert waits(same_schema, LOCKS[wanted])  # the same schema waits
        assert not waits(other_schema, LOCKS[wanted])  # another schema does not
    assert not waits(same_schema, LOCKS[wanted])  # and nobody once it is released
