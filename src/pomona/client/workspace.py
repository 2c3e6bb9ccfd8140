"""The workspace: the one object users hold. ``pomona.connect()`` returns it."""

from __future__ import annotations

import atexit
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pomona._utils.git import source_info
from pomona.artifacts import ArtifactStore
from pomona.client.training import TrainingMixin
from pomona.config import Settings
from pomona.metadata import MetadataStore
from pomona.tracking._logger import LoggerSettings, RunLogger
from pomona.tracking.base import TrackingAPI
from pomona.tracking.run import ActiveRun
from pomona.types import RunStatus

if TYPE_CHECKING:
    from pomona.datasets.base import DatasetsAPI
    from pomona.features.base import FeaturesAPI
    from pomona.monitoring.base import AlertsAPI, MonitorsAPI
    from pomona.pipelines.records import Event
    from pomona.pipelines.service import PipelineService
    from pomona.registry.base import ModelRegistry
    from pomona.serving.base import DeploymentsAPI

__all__ = ["Workspace"]


class Workspace(TrainingMixin):
    """Services of one workspace, embedded (in-process) or remote (over HTTP).

    Attributes:
        runs: the tracking service (search, history, artifacts).
        datasets: the datasets service (ingest, validate, prepare, split, label).
        models: the model registry (register, load, aliases, export).
        pipelines: pipelines (run, runs, lineage, schedules, events).
        settings: the effective settings.
    """

    pipelines: PipelineService
    """Set by ``connect`` (it needs the workspace for ``step_context().workspace``)."""
    features: FeaturesAPI
    """The feature store; set by ``connect``."""
    deployments: DeploymentsAPI
    """Deployments, rollouts, predictions and feedback; set by ``connect``."""
    monitors: MonitorsAPI
    """Monitors of deployments: windows, drift, quality, performance, reports."""
    alerts: AlertsAPI
    """Alerts of the monitors: list, acknowledge, silence."""

    def __init__(
        self,
        runs: TrackingAPI,
        settings: Settings,
        *,
        remote: bool,
        closer: Callable[[], None] | None = None,
        metadata_store: MetadataStore | None = None,
        artifact_store: ArtifactStore | None = None,
        datasets: DatasetsAPI | None = None,
        models: ModelRegistry | None = None,
        lazy: Mapping[str, Callable[[], Any]] | None = None,
    ) -> None:
        self._lazy = dict(lazy or {})
        self._lazy_lock = threading.RLock()
        self.runs = runs
        if datasets is not None:
            self.datasets: DatasetsAPI = datasets
        if models is not None:
            self.models: ModelRegistry = models
        self.metadata_store = metadata_store
        self.artifact_store = artifact_store
        self.settings = settings
        self.remote = remote
        self._closer = closer
        t = settings.tracking
        self._logger = RunLogger(
            runs,
            LoggerSettings(
                flush_interval_s=t.flush_interval_s,
                batch_size=t.batch_size,
                heartbeat_interval_s=t.heartbeat_interval_s,
                retry_max_s=t.retry_max_s,
                idempotency_keys=remote,
            ),
        )
        self._active: list[ActiveRun] = []
        self._lock = threading.Lock()
        self._closed = False
        self._init_training()
        atexit.register(_close_at_exit, weakref.ref(self))

    if not TYPE_CHECKING:  # typed attributes stay typed; only the ``lazy`` ones land here

        def __getattr__(self, name: str) -> Any:
            """Build a service named in ``lazy`` on first use, then keep it as an attribute."""
            lock = self.__dict__.get("_lazy_lock")
            if lock is None or name.startswith("__"):
                raise AttributeError(f"'Workspace' object has no attribute '{name}'")
            with lock:
                if name not in self.__dict__:
                    if name not in self._lazy:
                        raise AttributeError(f"'Workspace' object has no attribute '{name}'")
                    self.__dict__[name] = self._lazy[name]()  # a failed build is retried
                    del self._lazy[name]
                return self.__dict__[name]

    def __repr__(self) -> str:
        where = self.settings.uri if self.remote else str(self.settings.home)
        return f"Workspace({where!r})"

    def start_run(
        self,
        name: str | None = None,
        *,
        experiment: str = "default",
        tags: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        parent: ActiveRun | str | None = None,
        nested: bool = True,
    ) -> ActiveRun:
        """Start a run; inside another active run it becomes its child unless ``nested=False``.

        Use it as a context manager: the run ends as finished, or failed on an exception.
        """
        parent_id = parent.run_id if isinstance(parent, ActiveRun) else parent
        if parent_id is None and nested and self._active:
            parent_id = self._active[-1].run_id
        source, commit, dirty = source_info()
        run_id = uuid.uuid4().hex
        run = self._retry(
            lambda: self.runs.create_run(
                run_id=run_id,
                name=name,
                experiment=experiment,
                parent_run_id=parent_id,
                tags={k: str(v) for k, v in (tags or {}).items()},
                params={k: v if isinstance(v, str) else str(v) for k, v in (params or {}).items()},
                source=source,
                git_commit=commit,
                git_dirty=dirty,
            )
        )
        active = ActiveRun(
            self.runs,
            self._logger,
            run,
            retry_max_s=self.settings.tracking.retry_max_s,
            on_end=self._forget,
        )
        with self._lock:
            self._active.append(active)
        return active

    def autolog(self, *, disable: bool = False, log_models: bool = True) -> None:
        """Log every scikit-learn ``fit``: params, training score, the model (skops).

        A fit outside a run gets a run of its own; ``disable=True`` restores ``fit``.
        """
        from pomona.client._autolog import disable_sklearn_autolog, enable_sklearn_autolog

        if disable:
            disable_sklearn_autolog()
        else:
            enable_sklearn_autolog(self, log_models=log_models)

    def active_run(self) -> ActiveRun | None:
        """The innermost run started and not yet ended."""
        with self._lock:
            return self._active[-1] if self._active else None

    def _forget(self, run: ActiveRun) -> None:
        with self._lock:
            if run in self._active:
                self._active.remove(run)

    def _retry(self, fn: Any) -> Any:
        from pomona._utils.retry import retrying

        return retrying(fn, self.settings.tracking.retry_max_s)

    def flush(self) -> None:
        """Wait until every queued metric is written."""
        self._logger.flush()

    def emit_event(self, type: str, payload: Mapping[str, Any] | None = None) -> Event:
        """Record an event (``dataset.version_created``, ``alert.fired`` …) for triggers."""
        return self.pipelines.emit_event(type, payload)

    def close(self) -> None:
        """End runs left open (as finished), write queued metrics, release connections."""
        if self._closed:
            return
        self._closed = True
        for run in list(reversed(self._active)):
            run.end(RunStatus.FINISHED)
        pipelines = self.__dict__.get("pipelines")
        if pipelines is not None:
            pipelines.close()
        deployments = self.__dict__.get("deployments")
        if deployments is not None and hasattr(deployments, "close"):
            deployments.close()
        monitors = self.__dict__.get("monitors")
        if monitors is not None and hasattr(monitors, "close"):
            monitors.close()
        self._logger.close()
        if self._closer is not None:
            self._closer()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_at_exit(ref: weakref.ReferenceType[Workspace]) -> None:
    ws = ref()
    if ws is not None:
        try:
            ws.close()
        except Exception:
            pass
