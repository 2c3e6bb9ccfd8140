"""Training on the workspace: ``ws.train``, ``ws.tune``, ``ws.evaluate``, ``ws.models.promote``.

Training runs in the caller's process in both modes (it is the user's compute) and logs
through the tracking API; studies keep their journal in the workspace's database (through
the server in remote mode); promotion gates run where the registry is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pomona.config import Settings
from pomona.errors import ConfigError
from pomona.training._records import KIND_TAG, log_evaluation, log_test_data

if TYPE_CHECKING:
    from pomona.client.workspace import Workspace
    from pomona.metadata import MetadataStore
    from pomona.registry.base import ModelRegistry
    from pomona.tracking.base import TrackingAPI
    from pomona.tracking.run import ActiveRun
    from pomona.training import EvaluationReport, ModelSpec, TrainResult
    from pomona.training.base import Tracker
    from pomona.training.gates import GateReport
    from pomona.training.importance import SelectionResult
    from pomona.training.journal import StudyJournalAPI
    from pomona.training.tuning import StudyResult

__all__ = ["TrainingMixin", "WorkspaceConnector", "promote"]


@dataclass(frozen=True)
class WorkspaceConnector:
    """Reopens a workspace from its settings in a worker process (picklable)."""

    settings: Settings

    @contextlib.contextmanager
    def __call__(self) -> Iterator[tuple[Tracker, StudyJournalAPI]]:
        from pomona.client.connect import _connect_embedded, _connect_remote

        s = self.settings
        ws = _connect_remote(s) if s.uri else _connect_embedded(s)
        with ws:
            yield ws, ws.study_journal


class TrainingMixin:
    """The training verbs of ``Workspace``."""

    if TYPE_CHECKING:
        runs: TrackingAPI
        models: ModelRegistry
        settings: Settings
        remote: bool
        metadata_store: MetadataStore | None

        def active_run(self) -> ActiveRun | None: ...

    _journal: StudyJournalAPI | None = None

    def _init_training(self) -> None:
        """Give ``ws.models`` its ``promote`` verb (gates live above the registry)."""
        models = getattr(self, "models", None)
        if models is not None and not hasattr(models, "promote"):
            proxy = weakref.proxy(self)
            setattr(models, "promote", functools.partial(promote, proxy))  # noqa: B010

    @property
    def study_journal(self) -> StudyJournalAPI:
        """Where hyperparameter studies keep their journal (this workspace's database)."""
        if self._journal is None:
            if self.remote:
                from pomona.client._remote import RemoteTracking
                from pomona.client._remote_training import RemoteStudyJournal

                assert isinstance(self.runs, RemoteTracking)
                self._journal = RemoteStudyJournal(self.runs)
            else:
                from pomona.training.journal import StudyJournal

                if self.metadata_store is None:
                    raise ConfigError("This workspace has no metadata store for studies.")
                self._journal = StudyJournal(self.metadata_store)
        return self._journal

    def train(self, spec: ModelSpec, data: Any, **kwargs: Any) -> TrainResult:
        """Train ``spec`` on ``data`` as a tracked run; see ``pomona.training.train``."""
        from pomona.training import train

        return train(spec, data, tracker=self._tracker(), **kwargs)

    def tune(
        self, spec: ModelSpec, space: Mapping[str, Any], data: Any, **kwargs: Any
    ) -> StudyResult:
        """Run a hyperparameter study; see ``pomona.training.tuning.tune``.

        ``workers=2`` runs trials in two processes that share the study;
        ``executor="ray"`` runs them on the cluster of ``pipelines.ray_address``.
        """
        from pomona.training.tuning import tune

        opened = None
        if kwargs.get("executor") == "ray" and self.settings.pipelines.ray_address:
            from pomona.client._pipelines import build_executor

            opened = kwargs["executor"] = build_executor(self.settings.pipelines, "ray")
        try:
            return tune(
                spec,
                space,
                data,
                tracker=self._tracker(),
                journal=self.study_journal,
                connector=WorkspaceConnector(self.settings),
                **kwargs,
            )
        finally:
            if opened is not None:
                opened.close()

    def select_features(self, result: TrainResult, **kwargs: Any) -> SelectionResult:
        """Drop features under an importance threshold, retrain, report what changed."""
        from pomona.training.importance import select_features

        return select_features(result, tracker=self._tracker(), **kwargs)

    def evaluate(
        self,
        model: Any,
        data: Any,
        *,
        run: ActiveRun | None = None,
        name: str | None = None,
        slices: Sequence[str] = (),
        attributes: Mapping[str, Sequence[Any]] | None = None,
        metric: str | None = None,
        task: str | None = None,
        baselines: Mapping[str, Mapping[str, float]] | None = None,
        dataset: str | None = None,
        worst: int = 12,
    ) -> EvaluationReport:
        """Evaluate a model on test data and store the report on a run.

        Args:
            model: a fitted model, a ``TrainResult``, or a registry ref (``"apples@champion"``).
            data: ``(X, y)`` test data.
            run: store the report on this run; default a new run (a child of the active one).
            dataset: the test data's dataset version ref, recorded as ``dataset.test``.
        """
        from pomona.training import evaluate
        from pomona.training._data import data_digest

        fitted, label = self._resolve_model(model)
        X, y = _xy(data)
        if baselines is None:
            baselines = _baselines_for(model, X, y)
        report = evaluate(
            fitted,
            X,
            y,
            task=task,
            metric=metric,
            slices=slices,
            attributes=attributes,
            baselines=baselines,
            worst=worst,
        )
        report.model = label
        if dataset:
            report.datasets = {"test": dataset}
        tracker = self._tracker()
        with contextlib.ExitStack() as stack:
            active = run or stack.enter_context(tracker.start_run(name or f"evaluate-{label}"))
            active.set_tags({KIND_TAG: "evaluation", "model.name": label})
            active.log_params({"dataset.test": dataset or data_digest(X, y)})
            log_evaluation(active, report)
            attrs = {k: np.asarray(v) for k, v in (attributes or {}).items()}
            log_test_data(active, X, np.asarray(y), attrs)
        return report

    def _resolve_model(self, model: Any) -> tuple[Any, str]:
        from pomona.training import TrainResult

        if isinstance(model, TrainResult):
            return model.model, model.spec.name
        if isinstance(model, str):
            from pomona.training.gates import native_model

            loaded = self.models.load(model)
            return native_model(loaded), model
        return model, type(model).__name__

    def _tracker(self) -> Tracker:
        return self  # type: ignore[return-value]


def _baselines_for(model: Any, X: Any, y: Any) -> dict[str, dict[str, float]] | None:
    """For a ``TrainResult``: its baselines (fitted on its training split) scored on this data."""
    from pomona.training import TrainResult

    if not isinstance(model, TrainResult):
        return None
    from pomona.training._baselines import fit_baselines

    return fit_baselines(dataclasses.replace(model.data, X_test=X, y_test=np.asarray(y)))


def _xy(data: Any) -> tuple[Any, Any]:
    from pomona.errors import InvalidInputError

    if isinstance(data, tuple) and len(data) == 2:
        return data
    test = getattr(data, "X_test", None)
    if test is not None:
        return test, data.y_test
    raise InvalidInputError(
        "Evaluate on (X, y) test data.",
        hint="Pass data=(X_test, y_test), or a pomona.training.Split.",
        details={"field": "data"},
    )


def promote(
    ws: Workspace,
    name: str,
    version: int,
    *,
    to: str = "champion",
    force: bool = False,
    reason: str | None = None,
    actor: str | None = None,
    data: tuple[Any, Any] | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
    slices: Sequence[str] | None = None,
    check_only: bool = False,
) -> GateReport:
    """Run the promotion gates and move ``to`` onto the version if they pass (or if forced);
    ``check_only`` stores the verdict and leaves the alias alone.

    In remote mode the server runs the gates (it holds the registry and the test data).
    """
    if ws.remote:
        from pomona.client._remote import RemoteTracking
        from pomona.client._remote_training import remote_promote

        assert isinstance(ws.runs, RemoteTracking)
        return remote_promote(
            ws.runs,
            name,
            version,
            to=to,
            force=force,
            reason=reason,
            actor=actor,
            slices=slices,
            check_only=check_only,
        )
    from pomona.training.gates import GatePolicy
    from pomona.training.gates import promote as run_promotion

    policy = GatePolicy.from_project(
        [t.model_dump() for t in ws.settings.project.targets],
        ws.settings.project.budgets.latency_p99_ms,
    )
    return run_promotion(
        ws.models,
        ws.runs,
        name,
        version,
        to=to,
        policy=policy,
        force=force,
        reason=reason,
        actor=actor,
        data=data,
        attributes=attributes,
        slices=slices,
        check_only=check_only,
    )
