"""The insurance package is pure: it imports nothing from settlement, credit or api."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import insurance

FORBIDDEN = ("settlement", "credit", "api", "sqlalchemy", "fastapi", "httpx")


def test_no_insurance_module_imports_settlement_credit_api_or_a_framework() -> None:
    folder = Path(insurance.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_insurance_module_loads_none_of_them() -> None:
    code = (
        "import sys, insurance.whatif, insurance.refund, insurance.split;"
        f"print([m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
