"""Hospital services on the database: creation, seeding, rotation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from settlement.access.hospitals import (
    DEMO_SALT,
    Hospital,
    create_hospital,
    derive_secret,
    ensure_hospital,
    get_hospital,
    hospital_secret,
    rotate_secret,
)
from settlement.foundation.clock import AdjustableClock
from settlement.foundation.errors import ServiceError
from tests.integration.access.conftest import FROZEN_AT

KEY = "unit-secret-key-0123456789"


@pytest.fixture
def clock():
    return AdjustableClock(frozen_at=FROZEN_AT)


def test_seeding_a_demo_hospital_twice_creates_it_once_with_a_stable_secret(uow_factory, clock):
    with uow_factory() as uow:
        _, first = ensure_hospital(
            uow.session,
            code="DEMO01",
            name="Demo",
            level=2,
            secret_key=KEY,
            clock=clock,
            salt=DEMO_SALT,
        )
        uow.commit()
    with uow_factory() as uow:
        _, second = ensure_hospital(
            uow.session,
            code="DEMO01",
            name="Renamed",
            level=3,
            secret_key=KEY,
            clock=clock,
            salt=DEMO_SALT,
        )
        uow.commit()
    assert first == second == derive_secret(KEY, "DEMO01", DEMO_SALT)
    with uow_factory() as uow:
        rows = uow.session.scalars(select(Hospital)).all()
        assert [(h.code, h.name, h.level) for h in rows] == [("DEMO01", "Demo", 2)]


def test_creating_an_existing_code_is_refused_without_spoiling_the_transaction(uow_factory, clock):
    with uow_factory() as uow:
        create_hospital(uow.session, code="H1", name="A", level=1, secret_key=KEY, clock=clock)
        with pytest.raises(ServiceError) as refusal:
            create_hospital(uow.session, code="H1", name="B", level=1, secret_key=KEY, clock=clock)
        assert refusal.value.code == "duplicate_hospital"
        create_hospital(uow.session, code="H2", name="B", level=1, secret_key=KEY, clock=clock)
        uow.commit()
    with uow_factory() as uow:
        assert get_hospital(uow.session, "H2") is not None


def test_rotation_changes_the_secret_bumps_the_version_and_records_the_time(uow_factory, clock):
    with uow_factory() as uow:
        hospital, old = create_hospital(
            uow.session, code="H1", name="A", level=1, secret_key=KEY, clock=clock
        )
        uow.commit()
    with uow_factory() as uow:
        new = rotate_secret(uow.session, code="H1", secret_key=KEY, clock=clock)
        uow.commit()
    with uow_factory() as uow:
        hospital = get_hospital(uow.session, "H1")
        assert hospital is not None
        assert hospital.secret_version == 2
        assert hospital.rotated_at == FROZEN_AT
        assert hospital_secret(hospital, KEY) == new != old


def test_random_salts_give_every_hospital_a_different_secret(uow_factory, clock):
    with uow_factory() as uow:
        secrets = {
            create_hospital(
                uow.session, code=f"H{i}", name="A", level=1, secret_key=KEY, clock=clock
            )[1]
            for i in range(5)
        }
    assert len(secrets) == 5


@pytest.mark.parametrize(
    ("code", "name", "level"), [("bad code", "A", 1), ("H1", " ", 1), ("H1", "A", 0)]
)
def test_the_service_refuses_malformed_hospitals_too(uow_factory, clock, code, name, level):
    with uow_factory() as uow, pytest.raises(ServiceError) as refusal:
        create_hospital(uow.session, code=code, name=name, level=level, secret_key=KEY, clock=clock)
    assert refusal.value.code == "validation_error"
