"""Schema migrations (Alembic), configured in code so no ``alembic.ini`` is needed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision`` (the newest by default)."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new revision from the difference between the models and the database."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


@dataclass(frozen=True)
class SchemaState:
    """The revisions the database is at, and the newest the code ships (Alembic heads)."""

    database: tuple[str, ...]
    code: tuple[str, ...]

    @property
    def current(self) -> bool:
        return bool(self.code) and set(self.database) == set(self.code)


@cache
def code_heads() -> tuple[str, ...]:
    """The head revisions of ``migrations/`` (read once: they change only with the code)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def schema_state(connection: Connection) -> SchemaState:
    """Where the database's schema is next to the code's (no ``alembic_version``: nowhere)."""
    database = MigrationContext.configure(connection).get_current_heads()
    return SchemaState(database=tuple(sorted(database)), code=code_heads())
