"""The service agreement (信用就医服务协议): versioned texts and the one in force.

Each version is a Markdown file with TOML front matter between ``+++`` lines::

    +++
    version = 1
    title = "..."
    effective_from = 2026-01-01
    summary_en = "..."
    +++
    (the Chinese text)

The SHA-256 of the text (UTF-8, as stored) is kept with every signature as evidence.
"""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

FRONT_MATTER = "+++"


class AgreementError(ValueError):
    """An agreement file that cannot be used, or no agreement in force."""


@dataclass(frozen=True, slots=True)
class AgreementText:
    version: int
    title: str
    text: str
    summary_en: str
    effective_from: date
    sha256: str


def parse_agreement(content: str, *, source: str = "<agreement>") -> AgreementText:
    """Parse one agreement file's content (front matter and body)."""
    lines = content.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != FRONT_MATTER:
        raise AgreementError(f"{source}: must start with a '+++' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER)
    except StopIteration:
        raise AgreementError(f"{source}: the front matter is not closed with '+++'") from None
    try:
        meta = tomllib.loads("".join(lines[1:end]))
    except tomllib.TOMLDecodeError as error:
        raise AgreementError(f"{source}: front matter: {error}") from None
    text = "".join(lines[end + 1 :]).strip() + "\n"
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise AgreementError(f"{source}: version must be a positive integer")
    effective = meta.get("effective_from")
    if not isinstance(effective, date):
        raise AgreementError(f"{source}: effective_from must be a date (YYYY-MM-DD)")
    for key in ("title", "summary_en"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise AgreementError(f"{source}: {key} must be a non-empty string")
    if not text.strip():
        raise AgreementError(f"{source}: the agreement text is empty")
    return AgreementText(
        version=version,
        title=meta["title"].strip(),
        text=text,
        summary_en=meta["summary_en"].strip(),
        effective_from=effective,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


@dataclass(frozen=True, slots=True)
class Agreements:
    """All versions, oldest first."""

    versions: tuple[AgreementText, ...]

    def current(self, today: date) -> AgreementText:
        """The highest version already in force on ``today``."""
        in_force = [a for a in self.versions if a.effective_from <= today]
        if not in_force:
            raise AgreementError(f"no agreement version is in force on {today.isoformat()}")
        return in_force[-1]

    def get(self, version: int) -> AgreementText | None:
        return next((a for a in self.versions if a.version == version), None)


def make_agreements(texts: Sequence[AgreementText]) -> Agreements:
    ordered = tuple(sorted(texts, key=lambda a: a.version))
    versions = [a.version for a in ordered]
    if len(set(versions)) != len(versions):
        raise AgreementError(f"agreement versions repeat: {versions}")
    for earlier, later in itertools.pairwise(ordered):
        if later.effective_from < earlier.effective_from:
            raise AgreementError(f"version {later.version} takes effect before {earlier.version}")
    return Agreements(ordered)


def load_agreements(folder: Path) -> Agreements:
    """Every ``*.md`` agreement in ``folder``."""
    paths = sorted(folder.glob("*.md"))
    if not paths:
        raise AgreementError(f"{folder}: no agreement files (*.md)")
    return make_agreements(
        [parse_agreement(p.read_text(encoding="utf-8"), source=str(p)) for p in paths]
    )
