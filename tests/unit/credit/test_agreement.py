import hashlib
from datetime import date
from pathlib import Path

import pytest

from credit.agreement import AgreementError, load_agreements, parse_agreement
from tests.unit.credit.support import SEEDS


def write_version(folder: Path, version: int, effective: str, body: str = "协议正文") -> None:
    (folder / f"v{version}.md").write_text(
        f'+++\nversion = {version}\ntitle = "协议 v{version}"\n'
        f'effective_from = {effective}\nsummary_en = "Summary {version}"\n+++\n{body}\n',
        encoding="utf-8",
    )


def test_the_seeded_agreement_is_chinese_with_an_english_summary_and_a_digest() -> None:
    agreements = load_agreements(SEEDS / "agreements")
    current = agreements.current(date(2026, 6, 1))
    assert current.version == 1
    assert "先看病、后付费" in current.title
    assert "信用就医服务协议" in current.title
    assert "72" in current.text and "treat first, pay later" in current.summary_en
    assert current.sha256 == hashlib.sha256(current.text.encode("utf-8")).hexdigest()


def test_the_current_version_is_the_highest_one_already_in_force(tmp_path: Path) -> None:
    write_version(tmp_path, 1, "2026-01-01")
    write_version(tmp_path, 2, "2026-07-01", body="第二版")
    agreements = load_agreements(tmp_path)
    assert agreements.current(date(2026, 6, 30)).version == 1
    assert agreements.current(date(2026, 7, 1)).version == 2
    with pytest.raises(AgreementError, match="no agreement version is in force"):
        agreements.current(date(2025, 12, 31))


def test_different_texts_have_different_digests(tmp_path: Path) -> None:
    write_version(tmp_path, 1, "2026-01-01", body="甲")
    write_version(tmp_path, 2, "2026-02-01", body="乙")
    first, second = load_agreements(tmp_path).versions
    assert first.sha256 != second.sha256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no front matter", "must start"),
        ("+++\nversion = 1\n", "not closed"),
        (
            '+++\nversion = 0\ntitle = "t"\neffective_from = 2026-01-01\nsummary_en = "s"\n+++\nx',
            "version",
        ),
        (
            '+++\nversion = 1\ntitle = "t"\neffective_from = "soon"\nsummary_en = "s"\n+++\nx',
            "date",
        ),
        (
            '+++\nversion = 1\ntitle = "t"\neffective_from = 2026-01-01\nsummary_en = "s"\n+++\n',
            "empty",
        ),
    ],
)
def test_a_malformed_agreement_file_is_refused(content: str, message: str) -> None:
    with pytest.raises(AgreementError, match=message):
        parse_agreement(content)


def test_two_files_with_the_same_version_are_refused(tmp_path: Path) -> None:
    write_version(tmp_path, 1, "2026-01-01")
    (tmp_path / "copy.md").write_text((tmp_path / "v1.md").read_text("utf-8"), encoding="utf-8")
    with pytest.raises(AgreementError, match="repeat"):
        load_agreements(tmp_path)
