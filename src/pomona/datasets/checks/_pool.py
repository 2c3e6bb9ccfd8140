"""Running a function over chunks in worker processes, in order, with bounded memory.

Workers are forked (cheap, and scripts need no ``if __name__ == "__main__"`` guard), so
they are used only where fork is safe: on platforms that have it and while this process
runs a single thread. Elsewhere the chunks run here, one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

__all__ = ["ChunkPool", "default_workers"]

C = TypeVar("C")
R = TypeVar("R")
A = TypeVar("A")


def default_workers() -> int:
    """One worker per CPU this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _fork_is_safe() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class ChunkPool:
    """Maps over chunks; the first chunk runs here, later ones in ``workers`` processes."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(1, workers)
        self._executor: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[C, A], R], chunks: Iterable[C], arg: A) -> Iterator[R]:
        """``fn(chunk, arg)`` for each chunk, in order, at most 2 per worker in flight."""
        pending: deque[Future[R]] = deque()
        for index, chunk in enumerate(chunks):
            executor = self._start() if index > 0 else None
            if executor is None:
                while pending:
                    yield pending.popleft().result()
                yield fn(chunk, arg)
                continue
            pending.append(executor.submit(fn, chunk, arg))
            if len(pending) >= 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _start(self) -> ProcessPoolExecutor | None:
        if self._executor is None and self.workers > 1 and _fork_is_safe():
            context = multiprocessing.get_context("fork")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    def close(self) -> None:
        """Stops the workers (a later ``map`` starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
