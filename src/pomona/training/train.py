"""``train``: fit a model spec on a split, against baselines, as one tracked run."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pomona.tracking.run import ActiveRun
from pomona.training._baselines import fit_baselines
from pomona.training._data import TrainingData, prepare_data
from pomona.training._models import log_model
from pomona.training._records import KIND_TAG, log_evaluation, log_test_data
from pomona.training.base import Tracker
from pomona.training.evaluation import EvaluationReport, evaluate
from pomona.training.specs import ModelSpec

__all__ = ["TrainResult", "fit_spec", "train"]

MAX_PARAM = 500


@dataclass
class TrainResult:
    """A trained model, its evaluation on the test split, and the run that recorded it."""

    model: Any
    spec: ModelSpec
    run_id: str
    report: EvaluationReport
    data: TrainingData = field(repr=False)
    fit_seconds: float = 0.0

    @property
    def task(self) -> str:
        return self.report.task

    @property
    def metrics(self) -> dict[str, float]:
        """Test-split metrics."""
        return self.report.metrics

    @property
    def baselines(self) -> dict[str, dict[str, float]]:
        return self.report.baselines

    @property
    def lift(self) -> dict[str, float]:
        """Primary metric minus each baseline's (positive: better than the baseline)."""
        return self.report.lift

    @property
    def score(self) -> float:
        return self.report.score

    def summary(self) -> str:
        return f"{self.spec.name}: {self.report.summary()}"


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else getattr(value, "__name__", None) or str(value)
    return text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 1] + "…"


def run_params(spec: ModelSpec, data: TrainingData) -> dict[str, str]:
    """What a training run records as params: the spec's, the task and the data's lineage."""
    params = {k: _text(v) for k, v in spec.params.items()}
    params.update(data.lineage())
    params["task"] = data.task
    return params


def fit_spec(spec: ModelSpec, data: TrainingData, **overrides: Any) -> tuple[Any, float]:
    """Build and fit the spec on the training split; returns the model and the seconds taken."""
    model = spec.build(data.task, **overrides)
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    return model, time.perf_counter() - start


@contextlib.contextmanager
def _run_for(
    tracker: Tracker, run: ActiveRun | None, name: str, experiment: str, parent: str | None
) -> Iterator[ActiveRun]:
    if run is not None:
        yield run
        return
    with tracker.start_run(name, experiment=experiment, parent=parent) as started:
        yield started


def train(
    spec: ModelSpec,
    data: Any,
    *,
    tracker: Tracker,
    task: str | None = None,
    target: str | None = None,
    metric: str | None = None,
    run: ActiveRun | None = None,
    name: str | None = None,
    experiment: str = "default",
    parent: str | None = None,
    dataset: str | Mapping[str, str] | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
    slices: Sequence[str] = (),
    test_size: float = 0.25,
    seed: int = 0,
    baselines: bool = True,
    save_model: bool = True,
) -> TrainResult:
    """Train ``spec`` on ``data`` as a tracked run and evaluate it on the test split.

    The run records the spec's params, the task, the training and test data
    (``dataset.train`` / ``dataset.test``: the dataset version ref, or the data's content
    digest), the fit time, the test metrics, the baselines' metrics and the lift over them,
    the evaluation report, the test split (for promotion gates) and the model.

    Args:
        data: see ``prepare_data``: ``(X, y)``, a ``Split``, a DataFrame with ``target``.
        run: log into this run instead of starting one (named ``name``, default the spec's).
        metric: the primary metric (default accuracy, or R² for regression).
        slices, attributes: slice the evaluation by these columns (see ``evaluate``).
        baselines: also fit the majority-class/mean and linear baselines and state the lift.
        save_model: log the fitted model to the run under ``model/``.
    """
    prepared = prepare_data(
        data,
        task=task,
        target=target,
        test_size=test_size,
        seed=seed,
        dataset=dataset,
        attributes=attributes,
    )
    with _run_for(tracker, run, name or spec.name, experiment, parent) as active:
        active.set_tags(
            {KIND_TAG: "training", "model.flavor": spec.flavor, "model.name": spec.name}
        )
        active.log_params(run_params(spec, prepared))
        model, seconds = fit_spec(spec, prepared)
        active.log_metric("fit_seconds", seconds)
        for step, values in enumerate(getattr(model, "history_", [])):
            active.log_metrics(values, step=step)
        base = fit_baselines(prepared) if baselines else {}
        report = evaluate(
            model,
            prepared.X_test,
            prepared.y_test,
            task=prepared.task,
            metric=metric,
            slices=slices,
            attributes=prepared.attributes,
            baselines=base,
        )
        report.datasets = dict(prepared.datasets)
        report.model = spec.name
        log_evaluation(active, report)
        log_test_data(active, prepared.X_test, prepared.y_test, prepared.attributes)
        if save_model:
            log_model(active, model)
        return TrainResult(model, spec, active.run_id, report, prepared, seconds)
