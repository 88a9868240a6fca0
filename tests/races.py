"""Start calls in threads at the same moment, for the tests that race real transactions.

Many tests need the same few lines: one thread per call, a barrier so the calls start together,
a join that cannot hang the run, and the calls' failures raised in the test's own thread, where
pytest reports them. They live here once instead of in a near-copy per test module.

A racer whose refusal is an expected outcome (an error code, a status) catches it and returns it:
``run_together`` treats every exception as a failure of the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_together(calls: Sequence[Callable[[], T]], *, timeout: float = 60) -> list[T]:
    """Run each call in its own thread, all released together; their results, in call order.

    The first call (in call order) that raised has its exception raised here; a thread still
    running after ``timeout`` seconds fails the test as a hung racer.
    """
    barrier = threading.Barrier(len(calls), timeout=timeout)
    results: dict[int, T] = {}
    errors: dict[int, BaseException] = {}

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:  # raised below, in the test's thread
            errors[index] = error

    threads = [
        threading.Thread(target=run, args=(i, call), name=f"racer-{i}", daemon=True)
        for i, call in enumerate(calls)
    ]
    try:
        for thread in threads:
            thread.start()
    except BaseException:
        barrier.abort()  # release the racers already waiting
        raise
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    if errors:
        raise errors[min(errors)]
    return [results[i] for i in range(len(calls))]
