"""Run each task as a Ray task with its resources, on a local or remote Ray cluster.

Needs the ``pomona[ray]`` extra; only this module imports ray.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

from pomona.errors import BackendUnavailableError, ConfigError, PomonaError
from pomona.executors.base import (
    Executor,
    Task,
    TaskFailedError,
    TaskTimeoutError,
    WorkerLostError,
    resolve_entry,
)

__all__ = ["RayExecutor"]


def _ray_task(entry: str, payload: Mapping[str, Any]) -> Any:
    """What a Ray worker runs: the task's entry, imported by name."""
    return resolve_entry(entry)(payload)


class RayExecutor(Executor):
    """Each task becomes a Ray task asking for the task's CPUs, GPUs and memory.

    Args:
        address: ``host:port`` of a cluster's head (``ray start --head``), ``ray://host:10001``
            for Ray Client, ``auto`` for the cluster this machine belongs to, or ``None`` to
            start a private local Ray (slow: seconds).
        namespace: the Ray namespace of the driver.

    Workers must be able to import pomona and reach the artifact store (a shared folder or
    S3); a task is never retried by Ray itself (the pipeline runner owns retries).
    """

    name: ClassVar[str] = "ray"

    def __init__(self, address: str | None = None, *, namespace: str = "pomona") -> None:
        self.address = address
        self.namespace = namespace
        self._owns_ray = False
        self._remote: Any = None
        self._waiters: ThreadPoolExecutor | None = None
        self._cpus = 1
        self._lock = threading.Lock()

    @property
    def max_parallel(self) -> int:
        self._connect()
        return self._cpus

    def _connect(self) -> Any:
        with self._lock:
            if self._remote is not None:
                return self._remote
            ray = _import_ray()
            with _translated(self.address):
                if not ray.is_initialized():
                    ray.init(
                        address=self.address,
                        namespace=self.namespace,
                        include_dashboard=False,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                    self._owns_ray = True
                self._cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            self._remote = ray.remote(_ray_task)
            self._waiters = ThreadPoolExecutor(64, "pomona-ray")
            return self._remote

    def submit(self, task: Task) -> Future[Any]:
        remote = self._connect()
        res = task.resources
        options: dict[str, Any] = {
            "num_cpus": res.cpus,
            "num_gpus": res.gpus,
            "max_retries": 0,
            "name": task.task_id,
        }
        if res.memory_mb is not None:
            options["memory"] = res.memory_mb * 1024 * 1024
        with _translated(self.address):
            ref = remote.options(**options).remote(task.entry, dict(task.payload))
        assert self._waiters is not None
        return self._waiters.submit(_wait, ref, task)

    def close(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, None
            owns, self._owns_ray = self._owns_ray, False
            self._remote = None
        if waiters is not None:
            waiters.shutdown(wait=False, cancel_futures=True)
        if owns:
            _import_ray().shutdown()


def _wait(ref: Any, task: Task) -> Any:
    import ray
    from ray import exceptions as rex

    try:
        return ray.get(ref, timeout=task.timeout_s)
    except rex.GetTimeoutError as exc:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
        raise TaskTimeoutError(task.task_id, task.timeout_s or 0.0) from exc
    except rex.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, BaseException) else exc
        raise TaskFailedError(
            f"Task '{task.task_id}' failed: {type(cause).__name__}: {cause}",
            details={"traceback": str(exc)},
        ) from exc
    except rex.RayError as exc:
        raise WorkerLostError(
            f"The Ray worker of task '{task.task_id}' was lost: {type(exc).__name__}: {exc}",
            hint="Check the cluster with 'ray status'.",
            details={"task_id": task.task_id},
        ) from exc


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"The ray executor needs Ray, which is not installed: {exc}.",
            hint="Install it with: pip install 'pomona[ray]'.",
        ) from exc
    return ray


@contextlib.contextmanager
def _translated(address: str | None) -> Iterator[None]:
    try:
        yield
    except PomonaError:
        raise
    except (ConnectionError, TimeoutError) as exc:
        raise BackendUnavailableError(
            f"The Ray cluster at {address or 'a new local Ray'} cannot be reached: {exc}.",
            hint="Start it with 'ray start --head', or check pipelines.ray_address.",
        ) from exc
    except Exception as exc:
        from ray import exceptions as rex

        if isinstance(exc, rex.RayError):
            raise BackendUnavailableError(f"Ray failed: {type(exc).__name__}: {exc}.") from exc
        raise
