"""Leader/follower group commit across a process's request threads.

A thread that submits an item while no group is running becomes the leader: it runs a group of
every item waiting (its own first among them) and hands each its answer. Items submitted while a
group runs wait, and form the next group, run by the first of them. Nobody waits on a timer: a
lone item is a group of one, at once; under load groups grow by themselves, to what arrives
while one group is in the database.

A group that raises answers ``None`` to all its items (each caller then does its work alone), so
one bad item cannot fail the others, and no waiter is ever left waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass(eq=False)
class _Waiter(Generic[Item, Answer]):
    item: Item
    woken: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None
    done: bool = False


@dataclass
class GroupStats:
    """What a group commit has done so far (for tests and the benchmark's report)."""

    groups: int = 0
    items: int = 0
    answered: int = 0  # items the groups took (the others ran alone)
    largest: int = 0


class GroupCommit(Generic[Item, Answer]):
    """Runs ``run`` over groups of submitted items; ``run`` answers each item or ``None``."""

    def __init__(
        self, run: Callable[[list[Item]], Sequence[Answer | None]], *, max_group: int
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._run = run
        self._max_group = max_group
        self._lock = threading.Lock()
        self._waiting: list[_Waiter[Item, Answer]] = []
        self._leading = False
        self.stats = GroupStats()

    def submit(self, item: Item) -> Answer | None:
        """Wait for the group that takes ``item``; its answer, or ``None`` if it was not taken."""
        me: _Waiter[Item, Answer] = _Waiter(item)
        with self._lock:
            self._waiting.append(me)
            leads = not self._leading
            self._leading = True
        if not leads:
            me.woken.wait()
            if me.done:
                return me.answer
            # Woken without an answer: the last leader handed this thread the lead.
        self._lead(me)
        return me.answer

    def _lead(self, me: _Waiter[Item, Answer]) -> None:
        try:
            while not me.done:
                with self._lock:
                    group = self._waiting[: self._max_group]
                    del self._waiting[: self._max_group]
                answers: Sequence[Answer | None] = [None] * len(group)
                try:
                    answers = self._answers([waiter.item for waiter in group])
                finally:  # whatever happens, nobody of this group is left waiting
                    for waiter, answer in zip(group, answers, strict=True):
                        waiter.answer, waiter.done = answer, True
                        if waiter is not me:
                            waiter.woken.set()
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].woken.set()  # the next group's leader; it stays in line
                else:
                    self._leading = False

    def _answers(self, items: list[Item]) -> Sequence[Answer | None]:
        try:
            answers = self._run(items)
            if len(answers) != len(items):
                raise AssertionError(f"{len(answers)} answers for {len(items)} items")
        except Exception as error:
            # The type only: a database error's text may quote the values of a row.
            failure = type(error).__name__
            log.warning("a group of %d failed (%s); each runs alone", len(items), failure)
            return [None] * len(items)
        self.stats.groups += 1
        self.stats.items += len(items)
        self.stats.answered += sum(answer is not None for answer in answers)
        self.stats.largest = max(self.stats.largest, len(items))
        return answers
