"""Model specs: what to train, as a flavor plus params, built fresh for every fit.

>>> from sklearn.ensemble import RandomForestClassifier
>>> spec = sklearn(RandomForestClassifier, n_estimators=50)
>>> spec.with_params(max_depth=4).params == {"n_estimators": 50, "max_depth": 4}
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pomona.errors import InvalidInputError
from pomona.training._data import Task

__all__ = ["ModelSpec", "lightgbm", "sklearn", "torch"]


@dataclass(frozen=True)
class ModelSpec:
    """A model to train: its flavor, a name, params, and how to build it unfitted.

    Specs are plain picklable values, so trials can run in other processes.
    """

    flavor: str
    name: str
    builder: Callable[[Task, dict[str, Any]], Any]
    params: Mapping[str, Any] = field(default_factory=dict)

    def with_params(self, **params: Any) -> ModelSpec:
        """A copy with ``params`` added (or replaced)."""
        return replace(self, params={**self.params, **params})

    def build(self, task: Task, **overrides: Any) -> Any:
        """A new, unfitted model for ``task`` with the spec's params and ``overrides``."""
        params = {**self.params, **overrides}
        try:
            return self.builder(task, params)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"Cannot build {self.name} with params {params}: {exc}.",
                hint="Check the parameter names and values against the model's documentation.",
                details={"field": "params"},
            ) from exc


@dataclass(frozen=True)
class _SklearnBuilder:
    estimator: Any

    def __call__(self, task: Task, params: dict[str, Any]) -> Any:
        if isinstance(self.estimator, type):
            return self.estimator(**params)
        if hasattr(self.estimator, "get_params"):
            from sklearn.base import clone

            return clone(self.estimator).set_params(**params)
        return self.estimator(**params)


def sklearn(estimator: Any, **params: Any) -> ModelSpec:
    """A scikit-learn estimator or pipeline: a class, an instance (cloned), or a factory.

    Params of a pipeline use scikit-learn's ``step__param`` names.
    """
    if not (isinstance(estimator, type) or hasattr(estimator, "get_params") or callable(estimator)):
        raise InvalidInputError(
            f"{estimator!r} is not a scikit-learn estimator.",
            hint="Pass an estimator class, an instance, or a function returning one.",
            details={"field": "estimator"},
        )
    name = estimator.__name__ if isinstance(estimator, type) else type(estimator).__name__
    if type(estimator).__name__ == "Pipeline":
        name = "Pipeline(" + ",".join(n for n, _ in estimator.steps) + ")"
    elif not isinstance(estimator, type) and not hasattr(estimator, "get_params"):
        name = getattr(estimator, "__name__", name)
    return ModelSpec("sklearn", name, _SklearnBuilder(estimator), dict(params))


def _build_lightgbm(task: Task, params: dict[str, Any]) -> Any:
    try:
        import lightgbm as lgb
    except ImportError as exc:
        raise InvalidInputError(
            "LightGBM is not installed.",
            hint="Install the extra: pip install 'pomona[lightgbm]'.",
        ) from exc
    cls = lgb.LGBMClassifier if task == "classification" else lgb.LGBMRegressor
    return cls(**{"verbose": -1, **params})


def lightgbm(**params: Any) -> ModelSpec:
    """A LightGBM model (``LGBMClassifier`` or ``LGBMRegressor``, picked by the task)."""
    return ModelSpec("lightgbm", "LightGBM", _build_lightgbm, dict(params))


def _build_torch(task: Task, params: dict[str, Any]) -> Any:
    if task != "classification":
        raise ValueError("the PyTorch spec trains classifiers only")
    try:
        from pomona.training._torch import TorchClassifier
    except ImportError as exc:
        raise InvalidInputError(
            "PyTorch is not installed.", hint="Install the extra: pip install 'pomona[torch]'."
        ) from exc
    return TorchClassifier(**params)


def torch(**params: Any) -> ModelSpec:
    """A PyTorch classifier trained with early stopping (CPU, or CUDA when present).

    Params: ``arch`` (``apple_cnn`` for images, the default; ``mlp`` for tables), ``width``,
    ``dropout``, ``epochs``, ``lr``, ``batch_size``, ``patience``, ``val_fraction``,
    ``device``, ``seed`` (see ``pomona.training._torch.TorchClassifier``). The fitted model
    is a ``torch.nn.Module``: the registry saves it as safetensors.
    """
    name = "AppleCNN" if params.get("arch", "apple_cnn") == "apple_cnn" else "TorchMLP"
    return ModelSpec("torch", name, _build_torch, dict(params))
