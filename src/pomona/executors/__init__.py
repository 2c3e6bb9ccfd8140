"""Executors: where pipeline steps run (``local``, ``process``, ``ray``).

An executor runs a ``Task``: a picklable description naming a function by import path and
its payload, never a closure, so the same task gives the same result on every backend.
``RayExecutor`` lives in ``pomona.executors.backends.ray`` (extra ``pomona[ray]``).
"""

from __future__ import annotations

from pomona.executors._factory import EXECUTOR_NAMES, open_executor
from pomona.executors.backends.local import LocalExecutor
from pomona.executors.backends.process import ProcessExecutor
from pomona.executors.base import (
    Executor,
    Resources,
    Task,
    TaskFailedError,
    TaskTimeoutError,
    WorkerLostError,
    resolve_entry,
)

__all__ = [
    "EXECUTOR_NAMES",
    "Executor",
    "LocalExecutor",
    "ProcessExecutor",
    "Resources",
    "Task",
    "TaskFailedError",
    "TaskTimeoutError",
    "WorkerLostError",
    "open_executor",
    "resolve_entry",
]
