"""The built-in lifecycle steps: thin wrappers over the workspace's services.

    from pomona import steps as lc

    @pm.pipeline
    def train_apples(source: str = "photos/") -> None:
        raw = lc.ingest("apples", source)
        data = lc.split(lc.prepare(lc.validate(raw), {"transform": "ImageStandardize",
                                                      "params": {"size": 48}}))
        best = lc.tune(data, {"estimator": "sklearn.ensemble.RandomForestClassifier",
                              "images": "features"}, {"n_estimators": {"low": 50, "high": 200}})
        lc.promote(lc.register(best, "apples", data))

Datasets pass between steps as refs (``"apples:3"``), splits as ``{"dataset", "split_id"}``,
trained models as ``{"run_id", "metrics", …}`` (the model itself is in the run), and
registered models as refs (``"apples:2"``). Every step reaches the services through
``pm.step_context().workspace``.
"""

from __future__ import annotations

from typing import Any

from pomona.pipelines import step, step_context
from pomona.steps._data import load_split, model_spec, param_prefix, run_model, search_space

__all__ = [
    "canary_release",
    "evaluate",
    "ingest",
    "prepare",
    "promote",
    "register",
    "rollout",
    "split",
    "train",
    "tune",
    "validate",
]


def _ws() -> Any:
    return step_context().workspace


@step(cache=False)
def ingest(
    name: str,
    source: str | None = None,
    labels: str | None = "subfolders",
    label_column: str | None = None,
    strict: bool = False,
) -> str:
    """Ingest ``source`` into dataset ``name`` (default: the source of its latest ingest,
    to pick up what was added there); the version's ref. Always runs; unchanged content
    returns the latest version, so the steps after it come from the cache."""
    ws = _ws()
    if source is None:
        source = _last_source(ws, name)
    version = ws.datasets.ingest(
        name, source, labels=labels, label_column=label_column, strict=strict
    )
    return str(version.ref)


def _last_source(ws: Any, name: str) -> str:
    from pomona.errors import InvalidInputError

    for version in ws.datasets.list_versions(name, limit=1000):  # newest first
        if version.lineage.operation == "ingest" and version.lineage.source:
            return str(version.lineage.source)
    raise InvalidInputError(
        f"Dataset '{name}' has no ingested version to take the source from.",
        hint="Pass source=… (a folder, file, URL or s3:// prefix).",
        details={"field": "source"},
    )


@step
def validate(dataset: str, suite: str | None = None) -> str:
    """Check the version against ``suite`` (default its own); a blocking failure raises
    ``DatasetValidationError`` and stops the pipeline. Passes the ref on."""
    _ws().datasets.validate(dataset, suite, strict=True)
    return dataset


@step
def prepare(dataset: str, transform: dict[str, Any]) -> str:
    """Fit and apply a transform (``{"transform": "ImageStandardize", "params": {…}}``)."""
    from pomona.datasets.transforms import load_transform

    return str(_ws().datasets.prepare(dataset, load_transform(transform)).ref)


@step
def split(dataset: str, test: float = 0.2, val: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """Stratified train / val / test split stored with the version."""
    made = _ws().datasets.split(dataset, test=test, val=val, seed=seed)
    return {"dataset": dataset, "split_id": made.split_id, "sizes": dict(made.sizes)}


@step
def train(
    data: dict[str, Any], model: dict[str, Any], slices: list[str] | None = None
) -> dict[str, Any]:
    """Train ``model`` (see ``model_spec``) on train + val, evaluate on test, with baselines."""
    ws = _ws()
    result = ws.train(model_spec(model), load_split(ws, data), slices=slices or [])
    return _trained(result)


@step
def tune(
    data: dict[str, Any],
    model: dict[str, Any],
    space: dict[str, Any],
    n_trials: int = 10,
    folds: int = 3,
    metric: str | None = None,
    study: str | None = None,
    slices: list[str] | None = None,
) -> dict[str, Any]:
    """A hyperparameter study (trials as nested runs); the best params refitted and evaluated."""
    ws = _ws()
    prefix = param_prefix(model)
    result = ws.tune(
        model_spec(model),
        search_space(space, prefix=prefix),
        load_split(ws, data),
        n_trials=n_trials,
        folds=folds,
        metric=metric,
        study=study,
        slices=slices or [],
    )
    best = result.best
    if best is None:
        from pomona.errors import InvalidInputError

        raise InvalidInputError(
            f"Study '{result.name}' finished no trial.", hint="Look at its trials' errors."
        )
    return {**_trained(best), "study": result.name, "best_params": dict(result.best_params)}


@step
def evaluate(
    candidate: dict[str, Any] | str, data: dict[str, Any], slices: list[str] | None = None
) -> dict[str, Any]:
    """Evaluate a trained candidate (or a registry ref) on the split's test subset."""
    ws = _ws()
    test = load_split(ws, data)
    model = run_model(ws, candidate["run_id"]) if isinstance(candidate, dict) else candidate
    report = ws.evaluate(
        model,
        (test.X_test, test.y_test),
        slices=slices or [],
        attributes=test.attributes,
        dataset=data["dataset"],
    )
    return {"metrics": dict(report.metrics), "run_id": report.run_id}


@step
def register(candidate: dict[str, Any], name: str, data: dict[str, Any]) -> str:
    """Register the candidate's model (from its run) with its lineage: the run, this
    pipeline run and the dataset version."""
    ws = _ws()
    model = run_model(ws, candidate["run_id"])
    example = load_split(ws, data, subsets=("test",), limit=3).X_test[:3]
    version = ws.models.register(
        name,
        model,
        input_example=example,
        run_id=candidate["run_id"],
        pipeline_run_id=step_context().run_id,
        dataset_versions=[data["dataset"]],
        metrics=candidate.get("metrics"),
    )
    return str(version.ref)


@step(cache=False)
def promote(model: str, to: str = "champion", check_only: bool = False) -> dict[str, Any]:
    """Run the promotion gates against the holder of ``to`` and move the alias when they
    pass (``check_only``: judge, leave the alias); a refusal fails the step."""
    name, _, version = model.rpartition(":")
    report = _ws().models.promote(name, int(version), to=to, check_only=check_only)
    return {"model": model, "to": to, "passed": report.passed, "digest": report.digest}


@step(cache=False)
def rollout(
    model: str,
    deployment: str,
    steps: list[int] | None = None,
    interval_s: float = 60.0,
    min_samples: int = 200,
    min_feedback: int = 50,
    max_p99_ratio: float = 1.5,
) -> dict[str, Any]:
    """Roll ``model`` out on ``deployment`` as a canary; the analysis loop of the servers
    advances, promotes or rolls it back on evidence from live traffic."""
    from pomona.serving import Canary, Criteria

    criteria = Criteria(
        min_samples=min_samples, min_feedback=min_feedback, max_p99_ratio=max_p99_ratio
    )
    strategy = Canary(steps=tuple(steps or (10, 50, 100)), interval_s=interval_s, criteria=criteria)
    dep = _ws().deployments.rollout(deployment, model=model, strategy=strategy)
    return {"deployment": dep.name, "model": model, "revision": dep.revision}


def _trained(result: Any) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "model": result.spec.name,
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "lift": {k: float(v) for k, v in result.lift.items()},
    }


def canary_release(
    candidate: Any,
    name: str,
    data: Any,
    deployment: str,
    *,
    canary_steps: list[int] | None = None,
    interval_s: float = 60.0,
    min_samples: int = 200,
    min_feedback: int = 50,
    max_p99_ratio: float = 1.5,
) -> Any:
    """``register`` → ``promote(check_only=True)`` → ``rollout``: call it inside a
    ``@pipeline`` to release a trained candidate as a canary once the gates pass (the
    canary, not the gates, moves the alias). Returns the rollout step's output."""
    version = register(candidate, name, data)
    gates = promote(version, to="champion", check_only=True)
    canary: Any = rollout(  # while building, a step call gives its future output
        version,
        deployment,
        steps=canary_steps or [25, 50, 100],
        interval_s=interval_s,
        min_samples=min_samples,
        min_feedback=min_feedback,
        max_p99_ratio=max_p99_ratio,
    )
    return canary.after(gates)
