"""How long work tells how far it has come, without knowing who is watching.

Seeding and ledger verification take a :class:`Progress` and call :meth:`Progress.stage` then
:meth:`Progress.advance`; the command line passes a progress bar (``api.progress``), everything
else :data:`NO_PROGRESS`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, description: str, total: int | None = None) -> None:
        """A new stage of the work begins: ``total`` steps (``None``: not known)."""
        ...

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current stage are done."""
        ...


class _NoProgress:
    def stage(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass


#: Nobody is watching.
NO_PROGRESS: Progress = _NoProgress()
