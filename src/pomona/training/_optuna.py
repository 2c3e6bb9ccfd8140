"""Optuna glue: the journal backend on Pomona's study journal, samplers, pruners, the search
space, and one trial as a nested tracked run. Imports optuna: import this module lazily."""

from __future__ import annotations

import math
import os
import statistics
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.storages.journal import BaseJournalBackend, JournalStorage

from pomona.errors import InvalidInputError
from pomona.training._data import TrainingData
from pomona.training._metrics import compute, higher_is_better, predict
from pomona.training.base import Tracker
from pomona.training.journal import MAX_READ, StudyJournalAPI
from pomona.training.specs import ModelSpec

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "JournalBackend",
    "TrialContext",
    "make_pruner",
    "make_sampler",
    "open_study",
    "run_trial",
    "suggest",
]

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")


_LOCAL_OPS = frozenset({5, 7, 8, 9})
_FINISHED = frozenset({1, 2, 3})  # TrialState COMPLETE, PRUNED, FAIL


def _is_local(log: Mapping[str, Any]) -> bool:
    """Operations on a trial this process runs: set a param, report a value, set an
    attribute, finish it. They commute with every other process's operations, so they are
    applied here at once and written with the next ordered one (creating the next trial)."""
    op = log.get("op_code")
    return op in _LOCAL_OPS or (op == 6 and int(log.get("state", -1)) in _FINISHED)


class JournalBackend(BaseJournalBackend):
    """Optuna's journal backend over a ``StudyJournalAPI``: one log per study.

    Ordered operations (create the study, create a trial, start a queued one) are written
    at once, in one round trip that also reads what other processes wrote. Operations on a
    trial this process runs are applied locally at once and written with the next ordered
    operation, so a trial costs about one round trip; others' news are polled at most every
    ``poll_s`` seconds in between. Call ``flush`` when done.
    """

    def __init__(self, journal: StudyJournalAPI, study: str, *, poll_s: float = 0.2) -> None:
        self._journal = journal
        self._study = study
        self._poll_s = poll_s
        self._cursor = 0  # next seq to read from the database
        self._last_poll = -math.inf
        self._inbox: list[dict[str, Any]] = []  # read from the database, not yet handed out
        self._pending: list[dict[str, Any]] = []  # buffered, not yet written
        self._handed: set[str] = set()  # own buffered entries already applied locally
        self._tag = uuid.uuid4().hex[:12]
        self._count = 0

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        for log in logs:
            self._count += 1
            log["pomona"] = f"{self._tag}-{self._count}"
        if all(_is_local(log) for log in logs):
            self._pending.extend(logs)
            return
        entries, self._pending = [*self._pending, *logs], []
        self._take(self._journal.append_entries(self._study, entries, read_from=self._cursor))

    def _take(self, entries: list[Any]) -> None:
        self._cursor += len(entries)
        self._last_poll = time.monotonic()
        for entry in entries:
            key = entry.get("pomona")
            if key in self._handed:
                self._handed.discard(key)
            else:
                self._inbox.append(entry)
        if len(entries) == MAX_READ:
            self._poll()

    def _poll(self) -> None:
        self._take(self._journal.read_entries(self._study, self._cursor, MAX_READ))

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        if time.monotonic() - self._last_poll >= self._poll_s:
            self._poll()
        out, self._inbox = self._inbox, []
        local = [p for p in self._pending if p["pomona"] not in self._handed]
        self._handed.update(p["pomona"] for p in local)
        return [*out, *local]

    def flush(self) -> None:
        """Write buffered operations, and read everything others wrote on the next read."""
        if self._pending:
            entries, self._pending = self._pending, []
            self._take(self._journal.append_entries(self._study, entries, read_from=self._cursor))
        self._last_poll = -math.inf


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=8, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise InvalidInputError(
        f"Unknown sampler '{name}'.",
        hint=f"Use one of {', '.join(SAMPLERS)}.",
        details={"field": "sampler"},
    )


def make_pruner(name: str, steps: int) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=steps)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise InvalidInputError(
        f"Unknown pruner '{name}'.",
        hint=f"Use one of {', '.join(PRUNERS)}.",
        details={"field": "pruner"},
    )


def open_study(
    journal: StudyJournalAPI,
    name: str,
    *,
    metric: str,
    sampler: str,
    pruner: str,
    steps: int,
    seed: int,
) -> tuple[optuna.Study, JournalBackend]:
    """Create the study (or load it, to resume or to join as another worker)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    backend = JournalBackend(journal, name)
    study = optuna.create_study(
        study_name=name,
        storage=JournalStorage(backend),
        sampler=make_sampler(sampler, seed),
        pruner=make_pruner(pruner, steps),
        direction="maximize" if higher_is_better(metric) else "minimize",
        load_if_exists=True,
    )
    return study, backend


def _distribution(name: str, value: Any) -> optuna.distributions.BaseDistribution:
    if isinstance(value, optuna.distributions.BaseDistribution):
        return value
    if isinstance(value, list):
        return optuna.distributions.CategoricalDistribution(value)
    if isinstance(value, tuple) and len(value) in (2, 3):
        low, high, *scale = value
        log = scale == ["log"]
        if scale and not log:
            raise InvalidInputError(
                f"Search space '{name}': the third item may only be 'log'.",
                details={"field": f"space.{name}"},
            )
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
            return optuna.distributions.IntDistribution(low, high, log=log)
        if isinstance(low, int | float) and isinstance(high, int | float):
            return optuna.distributions.FloatDistribution(float(low), float(high), log=log)
    raise InvalidInputError(
        f"Search space '{name}' = {value!r} is not a range or a list of choices.",
        hint="Use (low, high) for ints or floats, (low, high, 'log'), or [choice, ...].",
        details={"field": f"space.{name}"},
    )


def check_space(space: Mapping[str, Any]) -> dict[str, optuna.distributions.BaseDistribution]:
    """The space as Optuna distributions, raising ``InvalidInputError`` on a bad entry."""
    if not space:
        raise InvalidInputError(
            "The search space is empty.",
            hint="Pass space={'param': (low, high), ...}.",
            details={"field": "space"},
        )
    try:
        return {name: _distribution(name, value) for name, value in space.items()}
    except ValueError as exc:
        raise InvalidInputError(f"The search space is invalid: {exc}.") from exc


def _suggest_one(trial: optuna.Trial, name: str, dist: Any) -> Any:
    d = optuna.distributions
    if isinstance(dist, d.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, d.FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_categorical(name, dist.choices)


def suggest(trial: optuna.Trial, space: Mapping[str, Any]) -> dict[str, Any]:
    """Draw one value per parameter of the space."""
    return {name: _suggest_one(trial, name, dist) for name, dist in check_space(space).items()}


@dataclass(frozen=True)
class TrialContext:
    """Everything a trial needs; picklable, so it travels to worker processes."""

    spec: ModelSpec
    data: TrainingData
    space: Mapping[str, Any]
    metric: str
    folds: int
    seed: int
    study: str
    study_run_id: str
    experiment: str


def _splits(ctx: TrialContext) -> list[tuple[Any, Any]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    y = ctx.data.y_train
    if ctx.data.task == "classification" and np.unique(y, return_counts=True)[1].min() >= ctx.folds:
        cv: Any = StratifiedKFold(ctx.folds, shuffle=True, random_state=ctx.seed)
    else:
        cv = KFold(ctx.folds, shuffle=True, random_state=ctx.seed)
    return list(cv.split(np.zeros(len(y)), y))


def _take(X: Any, idx: Any) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _fold_score(ctx: TrialContext, params: dict[str, Any], tr: Any, va: Any) -> float:
    d = ctx.data
    model = ctx.spec.build(d.task, **params)
    model.fit(_take(d.X_train, tr), d.y_train[tr])
    preds = predict(model, _take(d.X_train, va), d.y_train[va], d.task)
    return compute(preds, (ctx.metric,))[ctx.metric]


def run_trial(trial: optuna.Trial, ctx: TrialContext, tracker: Tracker) -> float:
    """Cross-validate one set of params as a nested run of the study's run.

    The running mean over folds is reported at each fold, so pruners can stop a poor trial
    after its first folds; a pruned trial's run ends ``finished`` with tag ``trial.state``.
    """
    params = suggest(trial, ctx.space)
    tags = {
        "pomona.kind": "trial",
        "study": ctx.study,
        "trial": trial.number,
        "trial.worker": os.getpid(),
    }
    pruned = False
    with tracker.start_run(
        f"trial-{trial.number}",
        experiment=ctx.experiment,
        parent=ctx.study_run_id,
        tags=tags,
        params=params,
    ) as run:
        trial.set_user_attr("run_id", run.run_id)
        scores: list[float] = []
        for fold, (tr, va) in enumerate(_splits(ctx)):
            scores.append(_fold_score(ctx, params, tr, va))
            value = statistics.fmean(scores)
            run.log_metric(f"cv.{ctx.metric}", value, step=fold)
            if math.isnan(value):
                raise optuna.TrialPruned(f"{ctx.metric} is undefined on fold {fold}")
            trial.report(value, fold)
            if trial.should_prune():
                pruned = True
                break
        run.set_tag("trial.state", "pruned" if pruned else "complete")
        run.log_metric("value", value)
    if pruned:
        raise optuna.TrialPruned()
    return value
