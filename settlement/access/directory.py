"""Phone number → insured person: a port, and the default that reads the sandbox persons."""

from __future__ import annotations

import importlib
import logging
import re
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.foundation.orm import Base

logger = logging.getLogger("shuxin.access")

PHONE_PATTERN = re.compile(r"^1[0-9]{10}$")
SANDBOX_PERSONS_MODULE = "settlement.adapters.sandbox_tables"
SANDBOX_PERSONS_TABLE = "sandbox_insured_persons"


class PersonDirectory(Protocol):
    def find_by_phone(self, session: Session, phone: str) -> str | None:
        """The ``psn_no`` of the insured person with this phone on file, or ``None``."""
        ...


class SandboxPersonDirectory:
    """Looks the phone up in ``sandbox_insured_persons`` (the sandbox insurance platform)."""

    def find_by_phone(self, session: Session, phone: str) -> str | None:
        table = Base.metadata.tables.get(SANDBOX_PERSONS_TABLE)
        if table is None:
            try:
                # Imported lazily: the sandbox adapters are optional outside sandbox mode.
                importlib.import_module(SANDBOX_PERSONS_MODULE)
            except ModuleNotFoundError:
                logger.warning("no person directory: %s is missing", SANDBOX_PERSONS_MODULE)
                return None
            table = Base.metadata.tables.get(SANDBOX_PERSONS_TABLE)
            if table is None:
                return None
        # Deterministic if a phone were ever on file twice: the lowest psn_no.
        statement = (
            select(table.c.psn_no).where(table.c.phone == phone).order_by(table.c.psn_no).limit(1)
        )
        psn_no = session.execute(statement).scalar_one_or_none()
        return None if psn_no is None else str(psn_no)


def default_person_directory() -> PersonDirectory:
    """The directory the API uses unless overridden (the lead may swap in the insurance port)."""
    return SandboxPersonDirectory()
