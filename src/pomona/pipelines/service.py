"""The pipeline service: run pipelines, read runs and lineage, manage schedules and events."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pomona.artifacts.base import ArtifactStore
from pomona.errors import ConflictError, InvalidInputError
from pomona.executors._factory import open_executor
from pomona.executors.base import Executor
from pomona.pipelines._loader import load_pipeline
from pomona.pipelines._params import load_params_file
from pomona.pipelines._runner import Runner, RunRequest
from pomona.pipelines._schedules import new_schedule
from pomona.pipelines.base import PipelineStore
from pomona.pipelines.context import _Opener
from pomona.pipelines.decorators import Pipeline
from pomona.pipelines.materializers import get_materializer
from pomona.pipelines.records import (
    ArtifactLink,
    Event,
    LineageGraph,
    PipelineRun,
    PipelineSummary,
    RunState,
    Schedule,
)
from pomona.types import Page

__all__ = ["PipelineService"]


class PipelineService:
    """Pipelines of one workspace, on a ``PipelineStore`` and an artifact store.

    Args:
        store: where runs, steps, lineage, schedules and events are recorded.
        artifacts: where step outputs are stored.
        default_executor: ``local``, ``process``, ``ray`` or ``ray://host:port``.
        executor_factory: builds an executor from a name (default: ``open_executor``).
        artifacts_opener: a picklable function opening the same artifact store in another
            process; out-of-process executors need it.
        workspace: what ``step_context().workspace`` returns to steps run in this process.
        workspace_opener: a picklable function opening the workspace in another process.
        heartbeat_interval_s, heartbeat_timeout_s: a run silent for the timeout is dead.
        owns_artifacts: ``close()`` also closes the artifact store.
    """

    def __init__(
        self,
        store: PipelineStore,
        artifacts: ArtifactStore,
        *,
        default_executor: str = "local",
        executor_factory: Callable[[str], Executor] | None = None,
        artifacts_opener: Callable[[], ArtifactStore] | None = None,
        workspace: object | None = None,
        workspace_opener: Callable[[], object] | None = None,
        heartbeat_interval_s: float = 5.0,
        heartbeat_timeout_s: float = 60.0,
        owns_artifacts: bool = False,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.default_executor = default_executor
        self._factory = executor_factory or open_executor
        self._artifacts_opener = artifacts_opener
        self._workspace = workspace
        self._workspace_opener = workspace_opener
        self.heartbeat_interval_s = heartbeat_interval_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self._executors: dict[str, Executor] = {}
        self._lock = threading.Lock()
        self._owns_artifacts = owns_artifacts

    # --- running ------------------------------------------------------------------------

    def run(
        self,
        pipeline: Pipeline[...] | str,
        params: Mapping[str, Any] | None = None,
        *,
        params_file: str | Path | None = None,
        executor: str | None = None,
        no_cache: bool = False,
        no_cache_steps: Sequence[str] = (),
        trigger: str = "manual",
        retry_of: str | None = None,
        run_id: str | None = None,
    ) -> PipelineRun:
        """Run a pipeline to its end and return the run (failed steps do not raise).

        Args:
            pipeline: a ``@pipeline`` object, or a target ``file.py:name`` / ``module:name``.
            params: parameter values; strings are converted by type hint (``--param``).
            params_file: a YAML file of parameters; ``params`` override it.
            executor: where steps run (default: the workspace's ``pipelines.executor``).
            no_cache: run every step even if an earlier result could be reused.
            no_cache_steps: run these steps even if cached.
        Raises:
            InvalidInputError: bad parameters or a bad graph, before anything runs.
        """
        pipe = load_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
        merged = {**(load_params_file(params_file) if params_file else {}), **(params or {})}
        values = pipe.bind(merged)
        dag = pipe.build(values)
        for name in no_cache_steps:
            dag.node(name)
        name = executor or self.default_executor
        runner = self._runner(self._executor(name))
        self.mark_dead_runs()
        request = RunRequest(
            run_id=run_id or uuid.uuid4().hex,
            pipeline=pipe.name,
            target=pipe.ref,
            dag=dag,
            params=values,
            executor=name,
            no_cache=no_cache,
            no_cache_steps=frozenset(no_cache_steps),
            trigger=trigger,
            retry_of=retry_of,
        )
        return runner.run(request)

    def retry(self, run_id: str, *, executor: str | None = None) -> PipelineRun:
        """Run a finished run's pipeline again with the same parameters; steps that
        succeeded before are reused from the cache.

        Raises:
            ConflictError: the run is still running.
        """
        old = self.get_run(run_id)
        if old.state is RunState.RUNNING:
            raise ConflictError(
                f"Run {run_id} of '{old.pipeline}' is still running.",
                hint="Wait for it to end (a killed run is marked dead after its heartbeat "
                "timeout).",
            )
        return self.run(
            old.target,
            old.params,
            executor=executor or old.executor,
            trigger=f"retry:{old.run_id}",
            retry_of=old.run_id,
        )

    def _executor(self, name: str) -> Executor:
        with self._lock:
            found = self._executors.get(name)
            if found is None:
                found = self._executors[name] = self._factory(name)
        if not found.in_process and self._artifacts_opener is None:
            raise InvalidInputError(
                f"The '{name}' executor runs steps in other processes, and this service's "
                "artifact store cannot be opened there.",
                hint="Use a workspace (pomona.connect()) with file or s3 artifacts, or the "
                "local executor.",
                details={"field": "executor"},
            )
        return found

    def _runner(self, executor: Executor) -> Runner:
        if executor.in_process:
            store: Any = self.artifacts
            workspace: Any = self._workspace
        else:
            store = _Opener(self._artifacts_opener) if self._artifacts_opener else None
            workspace = _Opener(self._workspace_opener) if self._workspace_opener else None
        return Runner(
            self.store,
            self.artifacts,
            executor,
            worker_store=store,
            workspace=workspace,
            heartbeat_interval_s=self.heartbeat_interval_s,
        )

    def mark_dead_runs(self, timeout_s: float | None = None) -> int:
        """Mark runs whose process stopped sending heartbeats as dead; returns how many."""
        return self.store.mark_dead_runs(timeout_s or self.heartbeat_timeout_s)

    # --- reading ------------------------------------------------------------------------

    def list_pipelines(self) -> list[PipelineSummary]:
        """Pipelines that have runs, with their latest run."""
        return self.store.list_pipelines()

    def list_runs(
        self,
        pipeline: str | None = None,
        *,
        state: RunState | str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[PipelineRun]:
        """Runs, newest first (without their steps: ``get_run`` has them)."""
        return self.store.list_runs(
            pipeline,
            state=RunState(state) if state else None,
            limit=limit,
            page_token=page_token,
        )

    def get_run(self, run_id: str) -> PipelineRun:
        """A run with its steps. Raises ``PipelineRunNotFoundError``."""
        return self.store.get_run(run_id)

    def load_output(self, run_id: str, step: str, output: str = "output") -> Any:
        """The value a step of a run produced, read back through its materializer."""
        link = self.get_run(run_id).step(step).output(output)
        return self.load_artifact(link)

    def load_artifact(self, link: ArtifactLink) -> Any:
        """Read an artifact back (verified by digest) through the materializer that wrote it."""
        import tempfile

        materializer = get_materializer(link.materializer)
        with tempfile.TemporaryDirectory(prefix="pomona-load-") as tmp:
            path = self.artifacts.get_file(link.digest, Path(tmp) / "artifact")
            return materializer.load(path)

    def read_logs(self, run_id: str, step: str) -> str:
        """What the step printed in its last try ('' if nothing)."""
        digest = self.get_run(run_id).step(step).logs_digest
        if digest is None:
            return ""
        return self.artifacts.read_bytes(digest).decode("utf-8", "replace")

    # --- lineage ------------------------------------------------------------------------

    def upstream(self, artifact: ArtifactLink | str) -> LineageGraph:
        """What data, code and parameters produced an artifact (by digest), step by step."""
        return self.store.lineage(_digest(artifact), "upstream")

    def downstream(self, artifact: ArtifactLink | str) -> LineageGraph:
        """Every step run and artifact made from an artifact (by digest), transitively."""
        return self.store.lineage(_digest(artifact), "downstream")

    # --- schedules and events -----------------------------------------------------------

    def create_schedule(
        self,
        name: str,
        pipeline: Pipeline[...] | str,
        *,
        cron: str | None = None,
        interval_s: float | None = None,
        on_event: str | None = None,
        event_filter: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        missed: str = "once",
        executor: str | None = None,
    ) -> Schedule:
        """Start ``pipeline`` on a cron expression, every ``interval_s``, or on events of
        type ``on_event`` (glob patterns allowed) whose payload holds ``event_filter``.

        Missed ticks (the scheduler was down): ``missed="once"`` runs the latest missed tick
        once at start-up; ``missed="skip"`` runs nothing until the next tick.
        """
        pipe = load_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
        pipe.build(params or {})  # bad parameters fail now, not at 3 a.m.
        schedule = new_schedule(
            name,
            pipe.ref,
            cron=cron,
            interval_s=interval_s,
            on_event=on_event,
            event_filter=dict(event_filter or {}),
            params=dict(params or {}),
            missed=missed,
            executor=executor,
        )
        return self.store.create_schedule(schedule)

    def get_schedule(self, name: str) -> Schedule:
        return self.store.get_schedule(name)

    def list_schedules(self) -> list[Schedule]:
        return self.store.list_schedules()

    def delete_schedule(self, name: str) -> None:
        self.store.delete_schedule(name)

    def emit_event(self, type: str, payload: Mapping[str, Any] | None = None) -> Event:
        """Record an event (``dataset.version_created``, ``alert.fired`` …); triggers
        listening for it run their pipeline once, even across scheduler restarts."""
        _check_event_type(type)
        return self.store.emit_event(type, dict(payload or {}))

    def list_events(
        self, type: str | None = None, *, limit: int = 50, page_token: str | None = None
    ) -> Page[Event]:
        return self.store.list_events(type, limit=limit, page_token=page_token)

    def close(self) -> None:
        """Stop executors this service started (and its artifact store, if it owns it)."""
        with self._lock:
            executors, self._executors = list(self._executors.values()), {}
        for executor in executors:
            executor.close()
        if self._owns_artifacts:
            self.artifacts.close()


def _digest(artifact: ArtifactLink | str) -> str:
    from pomona.artifacts.base import check_digest

    return check_digest(artifact.digest if isinstance(artifact, ArtifactLink) else artifact)


def _check_event_type(type: str) -> None:
    if not type or len(type) > 250 or any(c.isspace() for c in type):
        raise InvalidInputError(
            f"'{type}' is not an event type.",
            hint="Use dotted names without spaces, e.g. 'dataset.version_created'.",
            details={"field": "type"},
        )
