"""The built-in lifecycle steps: ingest, validate, prepare, split, train, tune, evaluate,
register, promote and rollout, as ``@step`` functions over the workspace's services.

    import pomona as pm
    from pomona import steps

    @pm.pipeline
    def train_cancer(source: str = "cancer.csv") -> None:
        data = steps.split(steps.validate(steps.ingest("cancer", source, labels="target")))
        model = steps.train(data, {"estimator": "sklearn.linear_model.LogisticRegression"})
        steps.promote(steps.register(model, "cancer", data))
"""

from __future__ import annotations

from pomona.steps._data import load_split, model_spec, run_model, search_space
from pomona.steps._lifecycle import (
    canary_release,
    evaluate,
    ingest,
    prepare,
    promote,
    register,
    rollout,
    split,
    train,
    tune,
    validate,
)

__all__ = [
    "canary_release",
    "evaluate",
    "ingest",
    "load_split",
    "model_spec",
    "prepare",
    "promote",
    "register",
    "rollout",
    "run_model",
    "search_space",
    "split",
    "train",
    "tune",
    "validate",
]
