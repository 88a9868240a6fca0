"""The leader/follower group commit, with real threads."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from settlement.foundation.group_commit import GroupCommit

WAIT = 10  # seconds; only a broken group commit waits this long


class Recorder:
    """A ``run`` that answers ``item * 10`` and records its groups; the first group waits on
    ``release``, so items submitted meanwhile pile up behind it."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.running = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: list[int]) -> list[int | None]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.running.set()
            assert self.release.wait(WAIT)
        return [item * 10 for item in items]


def pile_up_behind_a_running_group(commit: GroupCommit[int, int], run: Recorder, count: int):
    """Submit 0, and 1 to ``count`` while 0's group runs; check everyone's answer."""
    with ThreadPoolExecutor(max_workers=count + 1) as pool:
        first = pool.submit(commit.submit, 0)
        assert run.running.wait(WAIT)
        later = [pool.submit(commit.submit, n) for n in range(1, count + 1)]
        while len(commit._waiting) < count:  # all of them wait behind the running group
            threading.Event().wait(0.001)
        run.release.set()
        assert first.result(WAIT) == 0
        assert [f.result(WAIT) for f in later] == [n * 10 for n in range(1, count + 1)]


def test_a_lone_item_is_a_group_of_one_run_at_once():
    commit: GroupCommit[int, int] = GroupCommit(lambda items: [i + 1 for i in items], max_group=8)
    assert commit.submit(41) == 42
    assert commit.submit(1) == 2
    assert (commit.stats.groups, commit.stats.items, commit.stats.largest) == (2, 2, 1)


def test_items_that_arrive_while_a_group_runs_form_the_next_group():
    run = Recorder()
    commit: GroupCommit[int, int] = GroupCommit(run, max_group=32)
    pile_up_behind_a_running_group(commit, run, 8)
    assert run.groups[0] == [0]
    assert sorted(run.groups[1]) == list(range(1, 9))  # one group, led by one of them
    assert len(run.groups) == 2
    assert (commit.stats.items, commit.stats.answered, commit.stats.largest) == (9, 9, 8)


def test_a_group_is_never_larger_than_max_group_and_everyone_is_answered():
    run = Recorder()
    commit: GroupCommit[int, int] = GroupCommit(run, max_group=3)
    pile_up_behind_a_running_group(commit, run, 10)
    assert all(len(group) <= 3 for group in run.groups)
    assert sorted(item for group in run.groups for item in group) == list(range(11))


def test_a_group_that_fails_answers_none_to_all_and_the_next_one_runs(caplog):
    calls: list[list[str]] = []

    def run(items: list[str]) -> list[str | None]:
        calls.append(items)
        if items == ["bad"]:
            raise ValueError("row (37140000000000000001, 13912345678) violates a constraint")
        return [item.upper() for item in items]

    commit: GroupCommit[str, str] = GroupCommit(run, max_group=8)
    with caplog.at_level(logging.WARNING, logger="settlement.foundation.group_commit"):
        assert commit.submit("bad") is None
    assert commit.submit("good") == "GOOD"  # the failed leader handed over: nobody is stuck
    # The log names the failure's type, never its text (which may quote a person's numbers).
    assert "ValueError" in caplog.text
    assert "3714" not in caplog.text and "139" not in caplog.text


def test_a_run_that_answers_the_wrong_number_of_items_counts_as_failed():
    commit: GroupCommit[int, int] = GroupCommit(lambda items: [], max_group=8)
    assert commit.submit(1) is None
    assert commit.stats.groups == 0


def test_max_group_must_be_positive():
    with pytest.raises(ValueError, match="max_group"):
        GroupCommit(lambda items: items, max_group=0)
