"""``tune``: a hyperparameter study (Optuna: TPE, median or Hyperband pruning) whose trials are
nested tracked runs and whose journal lives in the workspace's metadata database.

Trials run in this process, or in ``workers`` processes (or on Ray) through an executor:
every worker joins the same study through the journal, so they share what they learn.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

from pomona.errors import InvalidInputError
from pomona.executors.base import Executor
from pomona.tracking.run import ActiveRun
from pomona.training._data import prepare_data
from pomona.training._metrics import check_metric, higher_is_better, primary_metric
from pomona.training._records import KIND_TAG, log_json
from pomona.training.base import Tracker
from pomona.training.evaluation import _json_safe
from pomona.training.journal import StudyJournalAPI, check_study_name
from pomona.training.specs import ModelSpec
from pomona.training.train import TrainResult, run_params, train

__all__ = ["SUMMARY_PATH", "Connector", "StudyResult", "tune"]

SUMMARY_PATH = "study/summary.json"
PRELOAD = ["sklearn", "pomona.training._worker", "pomona.client.connect"]
Connector = Callable[[], AbstractContextManager[tuple[Tracker, StudyJournalAPI]]]
"""A picklable callable that opens the workspace again in a worker process and yields its
tracker and study journal (``pomona.client`` provides one)."""


@dataclass
class StudyResult:
    """A finished study: the best trial, the history, parameter importances, the best model."""

    name: str
    run_id: str
    metric: str
    direction: str
    best_value: float | None
    best_params: dict[str, Any]
    best_trial: int | None
    best_trial_run_id: str | None
    states: dict[str, int]
    history: list[dict[str, Any]]
    importances: dict[str, float]
    workers: int
    seconds: float
    best: TrainResult | None = field(default=None, repr=False)
    """The best params refitted on the whole training split, evaluated on the test split."""

    @property
    def n_trials(self) -> int:
        return sum(self.states.values())

    @property
    def best_model(self) -> Any:
        return None if self.best is None else self.best.model

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("best")
        data["best_run_id"] = None if self.best is None else self.best.run_id
        data["n_trials"] = self.n_trials
        return _json_safe(data)  # type: ignore[no-any-return]

    def summary(self) -> str:
        done = ", ".join(f"{n} {state}" for state, n in sorted(self.states.items()))
        return (
            f"study {self.name}: best {self.metric} {self.best_value} with {self.best_params} "
            f"({done}; {self.seconds:.1f} s, {self.workers} worker(s))"
        )


def _study_name(spec: ModelSpec, study: str | None) -> str:
    return check_study_name(study or f"{spec.name.lower()}-{uuid.uuid4().hex[:8]}")


def _check_search(
    space: Mapping[str, Any],
    sampler: str,
    pruner: str,
    seed: int,
    folds: int,
    workers: int,
    executor: str | Executor | None,
    connector: Connector | None,
) -> None:
    """Refuse a bad space, sampler or pruner, and workers without a connector, up front."""
    from pomona.training import _optuna

    _optuna.check_space(space)
    _optuna.make_sampler(sampler, seed)
    _optuna.make_pruner(pruner, folds)
    if (workers > 1 or executor is not None) and connector is None:
        raise InvalidInputError(
            "Trials in other processes need a way to reopen the workspace.",
            hint="Call it through the workspace: ws.tune(..., workers=2).",
            details={"field": "workers"},
        )


def _check_counts(n_trials: int, workers: int, folds: int) -> None:
    for name, value, low in (
        ("n_trials", n_trials, 1),
        ("workers", workers, 1),
        ("folds", folds, 2),
    ):
        if value < low:
            raise InvalidInputError(
                f"{name} must be at least {low}, got {value}.", details={"field": name}
            )


def tune(
    spec: ModelSpec,
    space: Mapping[str, Any],
    data: Any,
    *,
    tracker: Tracker,
    journal: StudyJournalAPI,
    connector: Connector | None = None,
    metric: str | None = None,
    n_trials: int = 20,
    workers: int = 1,
    executor: str | Executor | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    folds: int = 5,
    seed: int = 0,
    study: str | None = None,
    experiment: str = "default",
    timeout_s: float | None = None,
    refit: bool = True,
    task: str | None = None,
    target: str | None = None,
    dataset: str | Mapping[str, str] | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
    slices: Sequence[str] = (),
    test_size: float = 0.25,
) -> StudyResult:
    """Search ``space`` for the params of ``spec`` that cross-validate best on the training
    split, then refit the best on the whole training split and evaluate it on the test split.

    Args:
        space: ``{"param": (low, high)}`` (ints or floats), ``(low, high, "log")``,
            ``[choice, ...]`` or an Optuna distribution.
        metric: what to optimise (default accuracy, or R² for regression).
        n_trials: trials to run in this call (a resumed study adds them).
        workers: processes running trials at once (each joins the study).
        executor: ``"process"`` (default when ``workers > 1``), ``"ray"``, or an executor.
        sampler: ``tpe`` or ``random``. pruner: ``median``, ``hyperband`` or ``none``.
        folds: cross-validation folds; pruning decides after each fold.
        study: the study's name; an existing one is resumed.
    """
    from pomona.training import _optuna

    _check_counts(n_trials, workers, folds)
    prepared = prepare_data(
        data,
        task=task,
        target=target,
        test_size=test_size,
        seed=seed,
        dataset=dataset,
        attributes=attributes,
    )
    chosen = check_metric(metric or primary_metric(prepared.task), prepared.task)
    _check_search(space, sampler, pruner, seed, folds, workers, executor, connector)
    name = _study_name(spec, study)
    start = time.perf_counter()
    params = {
        "study": name,
        "sampler": sampler,
        "pruner": pruner,
        "metric": chosen,
        "n_trials": n_trials,
        "folds": folds,
        "workers": workers,
        "space": json.dumps({k: repr(v) for k, v in space.items()}),
    }
    with tracker.start_run(f"study-{name}", experiment=experiment) as run:
        run.set_tags({KIND_TAG: "study", "study": name, "model.name": spec.name})
        run.log_params({**params, **run_params(spec, prepared)})
        ctx = _optuna.TrialContext(
            spec, prepared, dict(space), chosen, folds, seed, name, run.run_id, experiment
        )
        study_obj, backend = _optuna.open_study(
            journal, name, metric=chosen, sampler=sampler, pruner=pruner, steps=folds, seed=seed
        )
        goal = len(study_obj.trials) + n_trials
        helpers = _start_workers(
            ctx, connector, executor, workers, goal, n_trials, sampler, pruner, timeout_s
        )
        try:  # this process is worker 0: it runs trials while the others start up
            from pomona.training._worker import optimize

            optimize(study_obj, backend, ctx, tracker, goal, n_trials, timeout_s)
        finally:
            helpers.wait()
            backend.flush()
        result = _summarise(study_obj, ctx, workers)
        if refit and result.best_params:
            result.best = train(
                spec.with_params(**result.best_params),
                prepared,
                tracker=tracker,
                name=f"{name}-best",
                parent=run.run_id,
                experiment=experiment,
                metric=chosen,
                slices=slices,
            )
        result.seconds = time.perf_counter() - start
        _log_study(run, result)
    return result


@dataclass
class _Helpers:
    """Worker tasks started on an executor; ``wait`` collects them and closes what it opened."""

    futures: list[Future[Any]] = field(default_factory=list)
    executor: Executor | None = None

    def wait(self) -> None:
        try:
            for future in self.futures:
                future.result()
        finally:
            if self.executor is not None:
                self.executor.close()


def _start_workers(
    ctx: Any,
    connector: Connector | None,
    executor: str | Executor | None,
    workers: int,
    goal: int,
    n_trials: int,
    sampler: str,
    pruner: str,
    timeout_s: float | None,
) -> _Helpers:
    """Start workers 1..n-1 as executor tasks (worker 0 is the calling process)."""
    from pomona.executors import Task, open_executor

    helpers = _Helpers()
    if workers == 1 and executor is None:
        return helpers
    if isinstance(executor, Executor):
        runner = executor
    else:
        name = executor or "process"
        options: dict[str, Any] = {}
        if name == "process":
            options = {"max_workers": max(1, workers - 1), "preload": PRELOAD}
        runner = helpers.executor = open_executor(name, **options)
    for i in range(1, max(2, workers)):
        payload = {
            "connector": connector,
            "ctx": ctx,
            "goal": goal,
            "n_trials": n_trials,
            "sampler": sampler,
            "pruner": pruner,
            "seed": ctx.seed + i,
            "timeout_s": timeout_s,
        }
        task = Task(f"{ctx.study}-worker-{i}", "pomona.training._worker:run_worker", payload)
        helpers.futures.append(runner.submit(task))
    return helpers


def _summarise(study: Any, ctx: Any, workers: int) -> StudyResult:
    from optuna.trial import TrialState

    from pomona.training._worker import importances

    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    maximize = higher_is_better(ctx.metric)
    history, best_so_far = [], None
    for t in trials:
        value = t.value if t.state == TrialState.COMPLETE else None
        if value is not None and (best_so_far is None or (value > best_so_far) == maximize):
            best_so_far = value
        history.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": value,
                "best": best_so_far,
                "params": t.params,
                "run_id": t.user_attrs.get("run_id"),
            }
        )
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = study.best_trial if complete else None
    return StudyResult(
        name=ctx.study,
        run_id=ctx.study_run_id,
        metric=ctx.metric,
        direction="maximize" if maximize else "minimize",
        best_value=None if best is None else best.value,
        best_params={} if best is None else dict(best.params),
        best_trial=None if best is None else best.number,
        best_trial_run_id=None if best is None else best.user_attrs.get("run_id"),
        states=states,
        history=history,
        importances=importances(study),
        workers=workers,
        seconds=0.0,
    )


def _log_study(run: ActiveRun, result: StudyResult) -> None:
    for row in result.history:
        if row["value"] is not None:
            run.log_metric("trial.value", row["value"], step=row["number"])
            run.log_metric("best_value", row["best"], step=row["number"])
    run.log_metrics({f"importance.{k}": v for k, v in result.importances.items()})
    run.log_metrics({f"trials.{k}": float(v) for k, v in result.states.items()})
    run.log_metric("seconds", result.seconds)
    if result.best is not None:
        run.set_tags({"study.best_run_id": result.best.run_id})
        run.log_metrics({f"best.test.{k}": v for k, v in result.best.metrics.items() if v == v})
    log_json(run, result.to_dict(), SUMMARY_PATH)
