"""The tracking quick start: a few scikit-learn models on the breast-cancer data, one run each.

Imported only by ``pomona demo tracking`` (it loads scikit-learn and skops).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pomona.cli._render import cell, out, short_id, table

if TYPE_CHECKING:
    from rich.table import Table

    from pomona.client.workspace import Workspace
    from pomona.tracking.run import ActiveRun

__all__ = ["EXPERIMENT", "DemoResult", "ranked", "summary_table", "train_all"]

EXPERIMENT = "quickstart"
SEED = 0
VAL_FRACTION = 0.25


@dataclass(frozen=True)
class _Candidate:
    name: str
    model: str
    params: dict[str, float | int]
    build: Callable[[], Any]


@dataclass(frozen=True)
class DemoResult:
    """One trained model: its run and validation scores."""

    run_id: str
    name: str
    model: str
    accuracy: float
    f1: float
    roc_auc: float
    fit_seconds: float


def _logreg(c: float) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))


def _candidates() -> list[_Candidate]:
    out: list[_Candidate] = [
        _Candidate(f"logreg-C{c:g}", "LogisticRegression", {"C": c}, partial(_logreg, c))
        for c in (0.01, 0.1, 1.0)
    ]
    for n in (10, 50):
        params: dict[str, float | int] = {"n_estimators": n, "max_depth": 6}
        build = partial(RandomForestClassifier, random_state=SEED, **params)
        out.append(_Candidate(f"forest-{n}", "RandomForestClassifier", params, build))
    params = {"n_estimators": 60, "learning_rate": 0.1, "max_depth": 2}
    build = partial(GradientBoostingClassifier, random_state=SEED, **params)
    out.append(_Candidate("gboost-60", "GradientBoostingClassifier", params, build))
    return out


def _curves(model: Any, x: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """Metrics by step: accuracy as boosting stages or forest trees are added."""
    if isinstance(model, GradientBoostingClassifier):
        return {
            "accuracy": [float(accuracy_score(y, p)) for p in model.staged_predict(x)],
            "train_loss": [float(v) for v in model.train_score_],
        }
    if isinstance(model, RandomForestClassifier):
        votes = np.zeros((len(x), len(model.classes_)))
        accuracy = []
        for tree in model.estimators_:
            votes += tree.predict_proba(x)
            accuracy.append(float(accuracy_score(y, model.classes_[votes.argmax(axis=1)])))
        return {"accuracy": accuracy}
    return {}


def _train_one(ws: Workspace, candidate: _Candidate, data: tuple[np.ndarray, ...]) -> DemoResult:
    x_train, x_val, y_train, y_val = data
    params = {"model": candidate.model, **candidate.params}
    params |= {"dataset": "breast_cancer", "val_fraction": VAL_FRACTION, "seed": SEED}
    tags = {"demo": "tracking", "framework": "scikit-learn"}
    with ws.start_run(candidate.name, experiment=EXPERIMENT, params=params, tags=tags) as run:
        started = time.perf_counter()
        model = candidate.build().fit(x_train, y_train)
        fit_seconds = time.perf_counter() - started
        curves = _curves(model, x_val, y_val)
        final_step = max((len(v) for v in curves.values()), default=0)
        for key, values in curves.items():
            for step, value in enumerate(values, start=1):
                if not (key == "accuracy" and step == final_step):  # logged below
                    run.log_metric(key, value, step)
        predicted = model.predict(x_val)
        scores = {
            "accuracy": float(accuracy_score(y_val, predicted)),
            "f1": float(f1_score(y_val, predicted)),
            "precision": float(precision_score(y_val, predicted)),
            "recall": float(recall_score(y_val, predicted)),
            "roc_auc": float(roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])),
            "train_accuracy": float(accuracy_score(y_train, model.predict(x_train))),
            "fit_seconds": fit_seconds,
        }
        run.log_metrics(scores, step=final_step)
        _log_artifacts(run, model, y_val, predicted)
    return DemoResult(
        run.run_id,
        candidate.name,
        candidate.model,
        scores["accuracy"],
        scores["f1"],
        scores["roc_auc"],
        fit_seconds,
    )


def _log_artifacts(run: ActiveRun, model: Any, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    matrix = confusion_matrix(y_true, y_pred, labels=[0, 1])
    run.log_dict(
        {"labels": ["malignant", "benign"], "matrix": matrix.tolist()}, "confusion_matrix.json"
    )
    with tempfile.TemporaryDirectory(prefix="pomona-demo-") as folder:
        path = Path(folder) / "model.skops"
        sio.dump(model, path)
        run.log_artifact(path, "model.skops")


def train_all(ws: Workspace) -> list[DemoResult]:
    """Train every candidate as a run of experiment 'quickstart', showing progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    x, y = load_breast_cancer(return_X_y=True)
    data = tuple(train_test_split(x, y, test_size=VAL_FRACTION, stratify=y, random_state=SEED))
    candidates = _candidates()
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=out(), transient=True) as progress:
        task = progress.add_task("Training", total=len(candidates))
        for candidate in candidates:
            progress.update(task, description=f"Training {candidate.name:<12}")
            result = _train_one(ws, candidate, data)
            progress.console.print(
                f"  ✓ {result.name:<12} accuracy {result.accuracy:.3f}  "
                f"({result.fit_seconds:.2f}s, run {short_id(result.run_id)})",
                markup=False,
                highlight=False,
            )
            results.append(result)
            progress.advance(task)
    return results


def ranked(results: list[DemoResult]) -> list[DemoResult]:
    """Best first: validation accuracy, then ROC AUC."""
    return sorted(results, key=lambda r: (-r.accuracy, -r.roc_auc))


def summary_table(results: list[DemoResult]) -> Table:
    """The runs, best validation accuracy first."""
    t = table("#>", "Run", "Accuracy>", "F1>", "ROC AUC>", "Fit time>", "ID", title="Quick start")
    for rank, r in enumerate(ranked(results), start=1):
        style = "bold green" if rank == 1 else ""
        t.add_row(
            cell(rank),
            cell(r.name, style),
            cell(f"{r.accuracy:.3f}", style),
            cell(f"{r.f1:.3f}"),
            cell(f"{r.roc_auc:.3f}"),
            cell(f"{r.fit_seconds:.2f}s"),
            cell(short_id(r.run_id), "cyan"),
        )
    return t
