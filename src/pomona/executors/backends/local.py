"""Run tasks one at a time in the calling process: the debugging executor."""

from __future__ import annotations

import threading
import traceback
from concurrent.futures import Future
from typing import Any, ClassVar

from pomona.executors.base import Executor, Task, TaskFailedError, TaskTimeoutError, resolve_entry

__all__ = ["LocalExecutor"]


class LocalExecutor(Executor):
    """Runs each task in the caller's process as it is submitted, so breakpoints and
    prints work. A timed-out task is abandoned (a thread cannot be stopped), not killed.
    """

    name: ClassVar[str] = "local"
    in_process: ClassVar[bool] = True

    @property
    def max_parallel(self) -> int:
        return 1

    def submit(self, task: Task) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        if task.timeout_s is None:
            _run_into(task, future)
            return future
        worker = threading.Thread(
            target=_run_into, args=(task, future), name=f"pomona-task-{task.task_id}", daemon=True
        )
        worker.start()
        worker.join(task.timeout_s)
        if worker.is_alive() and not future.done():
            future.set_exception(TaskTimeoutError(task.task_id, task.timeout_s))
        return future


def _run_into(task: Task, future: Future[Any]) -> None:
    try:
        result = resolve_entry(task.entry)(task.payload)
    except BaseException as exc:
        error = TaskFailedError(
            f"Task '{task.task_id}' failed: {type(exc).__name__}: {exc}",
            details={"traceback": traceback.format_exc()},
        )
        if not future.done():
            future.set_exception(error)
        return
    if not future.done():
        future.set_result(result)
