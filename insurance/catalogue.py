"""The insurance catalogue (医保目录): ``med_list_codg`` → name, class, self-pay share, price cap.

``seeds/catalogue.csv`` has the columns ``med_list_codg, item_name, chrgitm_lv, selfpay_prop,
pric_uplmt_amt, category`` and, optionally, ``lmt_used_flag``; ``selfpay_prop`` (class B only),
``pric_uplmt_amt`` and ``lmt_used_flag`` may be empty. ``lmt_used_flag`` 1 marks a restricted-use
item (限制使用): the fund pays for it only where the hospital approved its use (``hosp_appr_flag``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from insurance.errors import CatalogueError, InsuranceError
from insurance.values import parse_value

CLASSES = ("A", "B", "C")
COLUMNS = ("med_list_codg", "item_name", "chrgitm_lv", "selfpay_prop", "pric_uplmt_amt")
#: A price cap is a unit price, so it may carry as many places as ``pric`` (6).


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One listed item. ``selfpay_prop`` only for class B (None: the policy default applies)."""

    med_list_codg: str
    item_name: str
    chrgitm_lv: str
    selfpay_prop: Decimal | None = None
    pric_uplmt_amt: Decimal | None = None
    category: str = ""
    #: Restricted use (national ``lmt_used_flag`` 1): insured only with the hospital's approval.
    lmt_used_flag: bool = False


class Catalogue(Mapping[str, CatalogueItem]):
    """The catalogue, keyed by ``med_list_codg``. An unlisted code is simply absent."""

    def __init__(self, items: Iterable[CatalogueItem]) -> None:
        self._items: dict[str, CatalogueItem] = {}
        for item in items:
            if item.med_list_codg in self._items:
                raise ValueError(f"med_list_codg {item.med_list_codg} is listed twice")
            self._items[item.med_list_codg] = item

    def __getitem__(self, code: str) -> CatalogueItem:
        return self._items[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, code: str, default: CatalogueItem | None = None) -> CatalogueItem | None:  # type: ignore[override]
        # Mapping.get goes through __getitem__ and a KeyError; pricing calls this per line.
        return self._items.get(code, default)


def load_catalogue(path: Path) -> Catalogue:
    """Load and validate the catalogue CSV (UTF-8, header row).

    Raises:
        CatalogueError: naming the file, the row (1 is the header), the field and the reason.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise CatalogueError(path, 1, missing[0], "missing column")
            items: list[CatalogueItem] = []
            seen: dict[str, int] = {}
            for row_number, row in enumerate(reader, start=2):
                item = _parse_row(path, row_number, row)
                if item.med_list_codg in seen:
                    raise CatalogueError(
                        path,
                        row_number,
                        "med_list_codg",
                        f"{item.med_list_codg} already listed on row {seen[item.med_list_codg]}",
                    )
                seen[item.med_list_codg] = row_number
                items.append(item)
    except OSError as error:
        raise CatalogueError(path, 0, "(file)", str(error)) from None
    return Catalogue(items)


def _parse_row(path: Path, row_number: int, row: Mapping[str, str | None]) -> CatalogueItem:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def fail(name: str, reason: str) -> CatalogueError:
        return CatalogueError(path, row_number, name, reason)

    code = cell("med_list_codg")
    if not code or len(code) > 50:
        raise fail("med_list_codg", "must be 1-50 characters")
    name = cell("item_name")
    if not name:
        raise fail("item_name", "must not be empty")
    level = cell("chrgitm_lv").upper()
    if level not in CLASSES:
        raise fail("chrgitm_lv", f"must be A, B or C, not {cell('chrgitm_lv')!r}")
    selfpay = _selfpay_prop(cell("selfpay_prop"), level, fail)
    cap: Decimal | None = None
    if cell("pric_uplmt_amt"):
        try:
            # Money by the contract (only pric and cnt have more places): at most 2.
            cap = parse_value(cell("pric_uplmt_amt"), name="pric_uplmt_amt")
        except InsuranceError as error:
            raise fail("pric_uplmt_amt", error.message) from None
    restricted = cell("lmt_used_flag") or "0"
    if restricted not in ("0", "1"):
        raise fail("lmt_used_flag", f"must be 0, 1 or empty, not {restricted!r}")
    if restricted == "1" and level == "C":
        raise fail("lmt_used_flag", "a class C item is all self-paid: it cannot be restricted")
    return CatalogueItem(
        med_list_codg=code,
        item_name=name,
        chrgitm_lv=level,
        selfpay_prop=selfpay,
        pric_uplmt_amt=cap,
        category=cell("category"),
        lmt_used_flag=restricted == "1",
    )


def _selfpay_prop(
    text: str, level: str, fail: Callable[[str, str], CatalogueError]
) -> Decimal | None:
    """A class B item's own first self-pay share (empty: the policy's)."""
    if not text:
        return None
    if level != "B":
        raise fail("selfpay_prop", "only class B items carry a first self-pay share")
    try:
        selfpay = parse_value(text, name="selfpay_prop", places=4, maximum=None)
    except InsuranceError as error:
        raise fail("selfpay_prop", error.message) from None
    if selfpay > 1:
        raise fail("selfpay_prop", f"must be a ratio in [0, 1], not {selfpay}")
    return selfpay


def default_catalogue_path() -> Path:
    """The repository's demo catalogue: ``seeds/catalogue.csv``."""
    return Path(__file__).resolve().parent.parent / "seeds" / "catalogue.csv"
