"""Loading ``seeds/`` into the database: the catalogue always, the demo world in sandbox mode.

Every step is idempotent: seeding twice changes nothing, and an administrator's edit of a
catalogue item is never overwritten.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit.decision import RepaymentHistory
from insurance.catalogue import load_catalogue
from settlement.access.hospitals import DEMO_SALT, Hospital, ensure_hospital
from settlement.adapters.sandbox_tables import (
    SandboxInsuredPerson,
    read_demo_persons,
    upsert_sandbox_person,
)
from settlement.billing.catalogue import load_items
from settlement.billing.credit_line import sync_line
from settlement.bootstrap import Container
from settlement.foundation.progress import NO_PROGRESS, Progress
from settlement.usecases.credit.decisions import current_decision, sign_agreement
from settlement.usecases.credit.errors import CreditServiceError


@dataclass(frozen=True)
class DemoHospital:
    code: str
    name: str
    level: int


def demo_hospitals(seeds_dir: Path) -> list[DemoHospital]:
    data = tomllib.loads((seeds_dir / "demo" / "hospitals.toml").read_text(encoding="utf-8"))
    return [
        DemoHospital(code=str(h["code"]), name=str(h["name"]), level=int(h["level"]))
        for h in data["hospital"]
    ]


def seed_catalogue(container: Container) -> int:
    catalogue = load_catalogue(container.settings.seeds_dir / "catalogue.csv")
    with container.uow() as uow:
        added = load_items(uow.session, catalogue.values(), now=container.clock.now())
        uow.commit()
    return added


def seed_demo(container: Container, *, progress: Progress = NO_PROGRESS) -> list[str]:
    """Demo hospitals, insured persons, and signed agreements for the eligible ones."""
    seeds = container.settings.seeds_dir
    lines: list[str] = []
    with container.uow() as uow:
        hospitals = demo_hospitals(seeds)
        progress.stage("demo hospitals", len(hospitals))
        for hospital in hospitals:
            _, secret = ensure_hospital(
                uow.session,
                code=hospital.code,
                name=hospital.name,
                level=hospital.level,
                secret_key=container.settings.secret_key,
                clock=container.clock,
                salt=DEMO_SALT,
            )
            lines.append(f"  hospital {hospital.code} (level {hospital.level}) secret {secret}")
            progress.advance()
        lines.append(SECRET_AGAIN)
        count = _add_missing_persons(
            uow.session, seeds / "demo" / "insured_persons.csv", progress=progress
        )
        uow.commit()
    lines.append(f"  {count} demo insured persons added")
    signed = 0
    signers = _demo_signers(seeds / "demo" / "insured_persons.csv")
    progress.stage("demo agreements", len(signers))
    for psn_no, certno, name in signers:
        progress.advance()
        with container.uow() as uow:
            if current_decision(uow.session, psn_no) is not None:
                continue
            try:
                decision = sign_agreement(
                    uow.session,
                    config=container.credit_config,
                    clock=container.clock,
                    insurance=container.insurance_platform(uow.session),
                    credit=container.credit_platform(uow.session),
                    psn_no=psn_no,
                    certno=certno,
                    psn_name=name,
                    version=container.credit_config.agreements.current(
                        container.clock.now().date()
                    ).version,
                    accept=True,
                    autopay="off",
                    channel="seed",
                    client_addr="127.0.0.1",
                    user_agent="shuxin seed",
                    history=RepaymentHistory(),
                )
            except CreditServiceError:
                continue
            sync_line(uow.session, psn_no=psn_no, line=decision.line, clock=container.clock)
            uow.commit()
            signed += 1
    lines.append(f"  {signed} demo patients signed the agreement")
    return lines


def _add_missing_persons(session: Session, persons_csv: Path, *, progress: Progress) -> int:
    """Insert the demo persons not yet present; a person's later changes are kept."""
    present = set(session.scalars(select(SandboxInsuredPerson.psn_no)).all())
    added = 0
    records = read_demo_persons(persons_csv)
    progress.stage("demo insured persons", len(records))
    for record in records:
        progress.advance()
        if record.person.psn_no not in present:
            upsert_sandbox_person(session, record)
            added += 1
    return added


#: Where a hospital's signing secret can be read again (it is printed only when created).
SECRET_AGAIN = (
    "  signing secrets are printed only when a hospital is created; read one again with "
    "`shuxin hospital secret CODE`, or replace it with POST /admin/v1/hospitals/CODE/secret "
    "(administrator token)"
)


def demo_hospitals_present(container: Container) -> list[str]:
    """The demo hospitals present, without their secrets, and where to read a secret again."""
    codes = [hospital.code for hospital in demo_hospitals(container.settings.seeds_dir)]
    with container.uow() as uow:
        hospitals = uow.session.scalars(select(Hospital).where(Hospital.code.in_(codes))).all()
        lines = [f"  hospital {h.code} (level {h.level})" for h in hospitals]
    return [*lines, SECRET_AGAIN]


def _demo_signers(persons_csv: Path) -> list[tuple[str, str, str]]:
    """Every other demo person has signed already; the rest are left to sign in the app."""
    with persons_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(r["psn_no"], r["certno"], r["psn_name"]) for i, r in enumerate(rows) if i % 3 != 2]


def seed_all(container: Container, *, demo: bool, progress: Progress = NO_PROGRESS) -> list[str]:
    """Load the catalogue and, when ``demo``, the demo world; returns what it did."""
    progress.stage("catalogue")
    lines = [f"catalogue: {seed_catalogue(container)} items added"]
    if demo:
        lines.append("demo data:")
        lines.extend(seed_demo(container, progress=progress))
    return lines


def seed_on_start(container: Container) -> list[str]:
    """What ``shuxin serve`` loads from ``seeds/`` before it answers, in every mode: the
    catalogue's missing items (items already there, and an administrator's changes to them,
    are kept), and in sandbox mode the demo world the first time. Without the catalogue a
    production start would price every fee as an unlisted class C item."""
    lines = [f"catalogue: {seed_catalogue(container)} items added from seeds/"]
    if container.settings.is_sandbox:
        lines.extend(_seed_demo_if_empty(container))
    return lines


def _seed_demo_if_empty(container: Container) -> list[str]:
    """Seed the demo world the first time (printing the new hospitals' secrets); later, list
    the demo hospitals and say where their secrets can be read again."""
    with container.uow() as uow:
        hospitals = uow.session.scalar(select(func.count()).select_from(Hospital)) or 0
    if hospitals == 0:
        return ["first start: demo data:", *seed_demo(container)]
    return ["sandbox demo hospitals:", *demo_hospitals_present(container)]
