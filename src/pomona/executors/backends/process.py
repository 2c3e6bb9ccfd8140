"""Run each task in its own worker process, several at once (independent steps in parallel)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, ClassVar

from pomona.errors import BackendError, InvalidInputError
from pomona.executors.base import (
    Executor,
    Task,
    TaskFailedError,
    TaskTimeoutError,
    WorkerLostError,
    resolve_entry,
)

__all__ = ["ProcessExecutor"]


class ProcessExecutor(Executor):
    """A pool of at most ``max_workers`` processes, one fresh process per task.

    Processes fork from a ``forkserver`` (warm, thread-safe) that has imported ``preload``;
    a task that runs past its timeout is killed, and a task whose process dies fails with
    ``WorkerLostError``. A task asking for ``cpus=n`` takes ``n`` of the ``max_workers`` slots.
    """

    name: ClassVar[str] = "process"

    def __init__(self, max_workers: int | None = None, preload: Sequence[str] = ()) -> None:
        workers = max_workers if max_workers is not None else (os.cpu_count() or 1)
        if workers < 1:
            raise InvalidInputError(
                f"max_workers must be at least 1, not {workers}.",
                details={"field": "max_workers"},
            )
        self._workers = workers
        self._preload = list(preload)
        self._threads: ThreadPoolExecutor | None = None
        self._slots = threading.Condition()
        self._free = workers
        self._lock = threading.Lock()

    @property
    def max_parallel(self) -> int:
        return self._workers

    def submit(self, task: Task) -> Future[Any]:
        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(self._workers, "pomona-process")
            threads = self._threads
        return threads.submit(self._run, task)

    def _run(self, task: Task) -> Any:
        need = max(1, min(self._workers, round(task.resources.cpus)))
        with self._slots:
            self._slots.wait_for(lambda: self._free >= need)
            self._free -= need
        try:
            return _run_in_child(task, self._context())
        finally:
            with self._slots:
                self._free += need
                self._slots.notify_all()

    def _context(self) -> Any:
        ctx = multiprocessing.get_context("forkserver")
        if self._preload:
            ctx.set_forkserver_preload(self._preload)
        return ctx

    def close(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)


def _run_in_child(task: Task, ctx: Any) -> Any:
    receiver, sender = ctx.Pipe(duplex=False)
    try:
        proc = ctx.Process(
            target=_child,
            args=(task.entry, task.payload, sender),
            name=f"pomona-task-{task.task_id}",
            daemon=True,
        )
        proc.start()
    except (OSError, ValueError) as exc:
        raise BackendError(f"Cannot start a worker process for '{task.task_id}': {exc}.") from exc
    finally:
        sender.close()
    try:
        return _await(task, proc, receiver)
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)


def _await(task: Task, proc: Any, receiver: Connection) -> Any:
    if not receiver.poll(task.timeout_s):
        proc.kill()
        raise TaskTimeoutError(task.task_id, task.timeout_s or 0.0)
    try:
        status, value, trace = receiver.recv()
    except (EOFError, OSError) as exc:
        proc.join(5)
        raise WorkerLostError(
            f"The worker process of task '{task.task_id}' died (exit code {proc.exitcode}).",
            hint="It may have run out of memory or been killed; see the system log.",
            details={"task_id": task.task_id, "exit_code": proc.exitcode},
        ) from exc
    if status == "ok":
        return value
    raise TaskFailedError(f"Task '{task.task_id}' failed: {value}", details={"traceback": trace})


def _child(entry: str, payload: Mapping[str, Any], sender: Connection) -> None:
    try:
        result = resolve_entry(entry)(payload)
        message: tuple[str, Any, str] = ("ok", result, "")
    except BaseException as exc:
        message = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
    try:
        sender.send(message)
    except Exception as exc:
        sender.send(("error", f"the result cannot be sent back: {exc}", traceback.format_exc()))
    finally:
        sender.close()
