"""Run a checked graph: cache lookups, submission to the executor, retries, skips, heartbeats."""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from pomona.artifacts.base import ArtifactStore
from pomona.errors import PomonaError
from pomona.executors.base import Executor
from pomona.pipelines._execution import Execution
from pomona.pipelines._graph import Dag
from pomona.pipelines.base import PipelineStore
from pomona.pipelines.records import PipelineRun, RunState, StepRun, StepState

__all__ = ["RunRequest", "Runner"]

log = logging.getLogger("pomona.pipelines")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """One run of a built graph, and how to run it."""

    run_id: str
    pipeline: str
    target: str
    dag: Dag
    params: dict[str, Any]
    executor: str
    no_cache: bool = False
    no_cache_steps: frozenset[str] = frozenset()
    trigger: str = "manual"
    retry_of: str | None = None


class _Heartbeat:
    def __init__(self, store: PipelineStore, run_id: str, interval_s: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat,
            args=(store, run_id, interval_s),
            name="pomona-heartbeat",
            daemon=True,
        )

    def _beat(self, store: PipelineStore, run_id: str, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                store.heartbeat_run(run_id)
            except PomonaError as exc:
                log.warning("pipeline heartbeat failed: %s", exc.message)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


class Runner:
    """Runs one request to its end and records every step on the store."""

    def __init__(
        self,
        store: PipelineStore,
        artifacts: ArtifactStore,
        executor: Executor,
        *,
        worker_store: Any,
        workspace: Any,
        heartbeat_interval_s: float,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.executor = executor
        self._worker_store = worker_store
        self._workspace = workspace
        self._interval = heartbeat_interval_s

    def run(self, req: RunRequest) -> PipelineRun:
        started = _now()
        base = {
            n.name: StepRun(
                run_id=req.run_id,
                name=n.name,
                step=n.step.ref,
                state=StepState.PENDING,
                upstream=tuple(n.upstream),
                params=n.params,
                code_hash=n.step.code_hash,
            )
            for n in req.dag.nodes
        }
        record = PipelineRun(
            run_id=req.run_id,
            pipeline=req.pipeline,
            target=req.target,
            state=RunState.RUNNING,
            params=req.params,
            executor=req.executor,
            trigger=req.trigger,
            started_at=started,
            heartbeat_at=started,
            retry_of=req.retry_of,
            steps=tuple(base.values()),
        )
        self.store.create_run(record, req.dag.to_json())
        execution = Execution(self, req, base)
        with _Heartbeat(self.store, req.run_id, self._interval):
            try:
                state, error = execution.loop()
            except BaseException as exc:
                execution.cancel()
                try:
                    self.store.end_run(req.run_id, RunState.FAILED, f"The run stopped: {exc!r}")
                except PomonaError:
                    pass
                raise
            self.store.end_run(req.run_id, state, error)
        return self.store.get_run(req.run_id)
