"""Adaptive micro-batching: one worker thread per model takes queued requests together.

The event loop only queues a request and awaits its future; the worker thread runs the
model. When the worker is idle a lone request runs at once; under load (the last batch
held more than one request) the worker waits up to ``max_wait_ms`` for the batch to
fill to ``max_batch_size`` rows. Past ``max_queue`` waiting requests, ``submit`` raises
``OverloadedError`` (HTTP 503 with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from pomona._utils.clock import now_ms
from pomona.errors import PomonaError
from pomona.serving._counts import RequestCounts
from pomona.serving._inputs import Inputs, concat
from pomona.serving._logrows import LogChunk, RowMeta, build_chunk, error_chunk
from pomona.serving.errors import OverloadedError
from pomona.serving.runtime import ModelRuntime, Outputs

__all__ = ["Batcher", "BatcherClosedError", "Job", "Result"]

log = logging.getLogger("pomona.serving")
LogSink = Callable[[LogChunk, Callable[[BaseException | None], None] | None], None]


class BatcherClosedError(RuntimeError):
    """The batcher was replaced (a policy change): submit to the new one."""


@dataclass
class Result:
    """One request's share of a batch: its outputs' rows, or the error it met."""

    labels: list[Any] = field(default_factory=list)
    proba: Any = None
    classes: list[str] | None = None
    error: BaseException | None = None


@dataclass
class Job:
    """A request waiting for the model."""

    inputs: Inputs
    meta: RowMeta
    future: asyncio.Future[Result] | Future[Result]
    loop: asyncio.AbstractEventLoop | None
    sync_log: bool = False
    t0: float = field(default_factory=time.perf_counter)
    result: Result | None = None


class Batcher:
    """A model's queue and worker thread."""

    def __init__(
        self,
        runtime: ModelRuntime,
        *,
        max_batch_size: int = 64,
        max_wait_ms: int = 2,
        max_queue: int = 1024,
        log_sink: LogSink | None = None,
        counts: RequestCounts | None = None,
    ) -> None:
        self.runtime = runtime
        self.counts = counts
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000
        self.max_queue = max_queue
        self._log = log_sink
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._last_size = 1
        self.batches = 0
        self.requests = 0
        version = runtime.version
        assert version is not None
        self._model = (version.name, version.version)
        self._thread = threading.Thread(
            target=self._run, name=f"pomona-model-{runtime.ref}", daemon=True
        )
        self._thread.start()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, job: Job) -> None:
        """Queue a job. Raises ``OverloadedError`` when the queue is full."""
        with self._cond:
            if self._closed:
                raise BatcherClosedError(self.runtime.ref)
            if len(self._queue) >= self.max_queue:
                raise OverloadedError(
                    f"Model {self.runtime.ref} has {len(self._queue)} requests waiting "
                    f"(limit {self.max_queue}).",
                    retry_after_s=1,
                )
            self._queue.append(job)
            self._cond.notify()

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs, finish the queued ones, stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    # --- the worker thread ----------------------------------------------------------------

    def _take(self) -> list[Job] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            if self._last_size > 1 and self.max_wait_s > 0:
                deadline = time.perf_counter() + self.max_wait_s
                while _rows(self._queue) < self.max_batch_size and not self._closed:
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            jobs = [self._queue.popleft()]
            rows = jobs[0].inputs.n
            while self._queue and rows + self._queue[0].inputs.n <= self.max_batch_size:
                job = self._queue.popleft()
                rows += job.inputs.n
                jobs.append(job)
            return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            self._last_size = len(jobs)
            self.batches += 1
            self.requests += len(jobs)
            try:
                self._process(jobs)
            except BaseException as exc:  # never leave a request waiting
                log.exception("serving batch failed unexpectedly")
                for job in jobs:
                    if job.result is None and self.counts is not None:
                        meta = job.meta
                        self.counts.add(
                            meta.deployment, self.runtime.ref, meta.variant, failed=True
                        )
                    job.result = job.result or Result(error=exc)
                _deliver(jobs)

    def _process(self, jobs: list[Job]) -> None:
        batch = concat([j.inputs for j in jobs])
        try:
            outputs = self.runtime.predict(batch)
        except Exception as exc:
            if len(jobs) > 1:  # find the request that fails; the others still get answers
                for job in jobs:
                    self._process([job])
                return
            self._finish(jobs, batch, None, exc)
            return
        self._finish(jobs, batch, outputs, None)

    def _finish(
        self,
        jobs: list[Job],
        batch: Inputs,
        outputs: Outputs | None,
        error: BaseException | None,
    ) -> None:
        end = time.perf_counter()
        for job in jobs:
            job.meta.latency_ms = (end - job.t0) * 1000
            job.meta.ts_ms = job.meta.ts_ms or now_ms()
        start = 0
        for job in jobs:
            n = job.inputs.n
            if outputs is None:
                job.result = Result(error=error)
            else:
                proba = None if outputs.proba is None else outputs.proba[start : start + n]
                job.result = Result(outputs.labels[start : start + n], proba, outputs.classes)
            start += n
            if self.counts is not None:
                failed = outputs is None
                self.counts.add(
                    job.meta.deployment, self.runtime.ref, job.meta.variant, failed=failed
                )
        if self._log is None:
            _deliver(jobs)
            return
        metas = [j.meta for j in jobs]
        if outputs is not None:
            chunk = build_chunk(self._model, self.runtime.spec, batch, metas, outputs)
        else:
            chunk = error_chunk(self._model, metas, _message(error))
        waiting = [j for j in jobs if j.sync_log]
        if waiting:
            _deliver([j for j in jobs if not j.sync_log])
            self._log(chunk, lambda exc: _after_log(waiting, exc))
        else:
            self._log(chunk, None)
            _deliver(jobs)


def _rows(queue: deque[Job]) -> int:
    return sum(j.inputs.n for j in queue)


def _message(error: BaseException | None) -> str:
    if isinstance(error, PomonaError):
        return error.message
    return f"{type(error).__name__}: {error}"


def _after_log(jobs: list[Job], exc: BaseException | None) -> None:
    if exc is not None:
        from pomona.errors import BackendUnavailableError

        failed = BackendUnavailableError(
            f"The prediction was made but its log could not be stored (sync logging): {exc}.",
            hint="Retry; check the artifact and metadata stores.",
        )
        for job in jobs:
            job.result = Result(error=failed)
    _deliver(jobs)


def _deliver(jobs: list[Job]) -> None:
    """Complete the jobs' futures: one hop to each event loop, direct for thread futures."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Job]] = {}
    for job in jobs:
        if job.loop is None:
            fut = job.future
            assert isinstance(fut, Future)
            if not fut.done():
                fut.set_result(job.result or Result(error=RuntimeError("no result")))
        else:
            by_loop.setdefault(job.loop, []).append(job)
    for loop, members in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, members)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _resolve(jobs: list[Job]) -> None:
    for job in jobs:
        fut = job.future
        if not fut.done():
            fut.set_result(job.result or Result(error=RuntimeError("no result")))
