"""Benchmarks: ``python -m tests.bench NAME [options]``; ``python -m tests.bench`` lists them.

Each benchmark prints medians next to a baseline measured in the same run, and the ratio; its last
line is one JSON object of its figures.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(folder)])
        if not module.name.startswith("_") and not module.ispkg  # support/: what they share
    )


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] not in names:
        print("usage: python -m tests.bench NAME [options]\nbenchmarks: " + ", ".join(names))
        return 2
    module = importlib.import_module(f"tests.bench.{argv[0]}")
    result: int = module.main(argv[1:])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
