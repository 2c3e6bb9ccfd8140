"""Running trials: in this process, or as an executor task in a worker process or on Ray."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.study import MaxTrialsCallback

from pomona.training._optuna import JournalBackend, TrialContext, open_study, run_trial
from pomona.training.base import Tracker

__all__ = ["importances", "optimize", "run_worker"]


def optimize(
    study: optuna.Study,
    backend: JournalBackend,
    ctx: TrialContext,
    tracker: Tracker,
    goal: int,
    n_trials: int,
    timeout_s: float | None,
) -> int:
    """Run trials until the study holds ``goal`` trials (counting other workers' too)."""
    before = len(study.trials)
    try:
        study.optimize(
            lambda trial: run_trial(trial, ctx, tracker),
            n_trials=n_trials,
            timeout=timeout_s,
            callbacks=[MaxTrialsCallback(goal, states=None)],
            gc_after_trial=False,
        )
    finally:
        backend.flush()
    return len(study.trials) - before


def run_worker(payload: Mapping[str, Any]) -> int:
    """Executor entry: reopen the workspace, join the study, run trials; returns how many."""
    ctx: TrialContext = payload["ctx"]
    with payload["connector"]() as (tracker, journal):
        study, backend = open_study(
            journal,
            ctx.study,
            metric=ctx.metric,
            sampler=payload["sampler"],
            pruner=payload["pruner"],
            steps=ctx.folds,
            seed=payload["seed"],
        )
        if len(study.trials) >= payload["goal"]:
            return 0
        return optimize(
            study, backend, ctx, tracker, payload["goal"], payload["n_trials"], payload["timeout_s"]
        )


def importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA parameter importances (empty until two trials completed with varied params)."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError):
        return {}
    return {k: float(v) for k, v in found.items()}
