"""The executor port: run picklable task descriptions, locally, in processes or on Ray."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self

from pomona.errors import BackendError, InvalidInputError

__all__ = [
    "Executor",
    "Resources",
    "Task",
    "TaskFailedError",
    "TaskTimeoutError",
    "WorkerLostError",
    "resolve_entry",
]


@dataclass(frozen=True, slots=True)
class Resources:
    """What one task needs: CPUs, GPUs and memory (a scheduling hint for Ray)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int | None = None

    def __post_init__(self) -> None:
        if self.cpus < 0 or self.gpus < 0 or (self.memory_mb is not None and self.memory_mb <= 0):
            raise InvalidInputError(
                f"Resources must be positive (cpus={self.cpus}, gpus={self.gpus}, "
                f"memory_mb={self.memory_mb}).",
                details={"field": "resources"},
            )


@dataclass(frozen=True, slots=True)
class Task:
    """A unit of work an executor runs: ``entry(payload)`` in a worker.

    Args:
        task_id: a unique name, used in messages.
        entry: ``package.module:function``, imported by name in the worker; never a closure,
            so every executor runs the same code.
        payload: the function's one argument; it must pickle for out-of-process executors.
        resources: what the task needs.
        timeout_s: the task fails with ``TaskTimeoutError`` after this long.
    """

    task_id: str
    entry: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    timeout_s: float | None = None


class TaskTimeoutError(BackendError):
    """A task ran longer than its timeout and was stopped."""

    def __init__(self, task_id: str, timeout_s: float) -> None:
        super().__init__(
            f"Task '{task_id}' did not finish within its timeout of {timeout_s:g} s.",
            hint="Raise the step's timeout_s, or make the step faster.",
            details={"task_id": task_id, "timeout_s": timeout_s},
        )


class WorkerLostError(BackendError):
    """The process or node running a task died before answering."""


class TaskFailedError(BackendError):
    """The task's entry raised; ``details['traceback']`` holds the worker's traceback."""


def resolve_entry(entry: str) -> Callable[[Mapping[str, Any]], Any]:
    """Import ``package.module:function``.

    Raises:
        InvalidInputError: the entry is malformed or cannot be imported.
    """
    module_name, sep, attr = entry.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInputError(
            f"'{entry}' is not a task entry.", hint="Write it as 'package.module:function'."
        )
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(f"Task entry '{entry}' cannot be imported: {exc}.") from exc
    if not callable(fn):
        raise InvalidInputError(f"Task entry '{entry}' is not a function.")
    return fn  # type: ignore[no-any-return]


class Executor(ABC):
    """Runs tasks and hands back futures of their results.

    A future resolves to what ``entry(payload)`` returned, or raises ``TaskTimeoutError``,
    ``WorkerLostError`` or ``TaskFailedError``.
    """

    name: ClassVar[str]
    in_process: ClassVar[bool] = False
    """Whether tasks run in the caller's process (payloads then need not pickle)."""

    @property
    @abstractmethod
    def max_parallel(self) -> int:
        """How many tasks may usefully run at once."""

    @abstractmethod
    def submit(self, task: Task) -> Future[Any]:
        """Start a task (or queue it) and return its future.

        Raises:
            BackendError: the executor cannot accept work (e.g. the cluster is gone).
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers and connections; running tasks may be stopped."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
